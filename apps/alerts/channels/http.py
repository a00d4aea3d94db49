"""HTTP posting shared by the webhook and Slack channels, and the outcome → error mapping."""

import math
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import requests

from apps.alerts.channels.base import FinalError, RetryableError, SendResult

USER_AGENT = "aivmon-alerts/1"
# What the error message quotes of a response body: enough to debug, not a whole HTML page.
BODY_EXCERPT_CHARS = 200


def validate_http_url(value: object, *, field: str) -> str:
    """Return `value` if it is an absolute http(s) URL, or raise ValueError."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{field}: a URL is required")
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{field}: must be an http:// or https:// URL")
    return value.strip()


def post(url: str, body: bytes, *, headers: Mapping[str, str], timeout_s: float) -> SendResult:
    """POST `body` once and map the outcome; error messages name the host, never the URL."""
    host = urlsplit(url).hostname or "?"
    all_headers = {"User-Agent": USER_AGENT, **headers}
    try:
        with requests.Session() as session:
            response = session.post(
                url, data=body, headers=all_headers, timeout=timeout_s, allow_redirects=False
            )
    except requests.Timeout as exc:
        raise RetryableError(f"{host} did not answer within {timeout_s:g} s") from exc
    except requests.RequestException as exc:
        # The exception text quotes the URL, and a Slack URL is a secret: name the kind only.
        raise RetryableError(f"cannot reach {host}: {type(exc).__name__}") from exc
    return result_or_raise(response.status_code, response.headers, response.text, host=host)


def result_or_raise(status: int, headers: Mapping[str, str], text: str, *, host: str) -> SendResult:
    """Return a SendResult for a 2xx answer; raise RetryableError or FinalError otherwise."""
    excerpt = " ".join(text[:BODY_EXCERPT_CHARS].split())
    if 200 <= status < 300:
        return SendResult(status_code=status, detail=excerpt)
    message = f"{host} answered {status}" + (f": {excerpt}" if excerpt else "")
    if status == 429 or status >= 500:
        retry_after = retry_after_s(headers.get("Retry-After"))
        raise RetryableError(message, status_code=status, retry_after_s=retry_after)
    if 300 <= status < 400:
        location = urlsplit(headers.get("Location", "")).hostname or "elsewhere"
        message = f"{host} redirected ({status}) to {location}: configure the final URL"
    raise FinalError(message, status_code=status)


def retry_after_s(value: str | None, *, now: float | None = None) -> float | None:
    """Parse a Retry-After header (delay seconds or an HTTP date) into seconds from now."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # an HTTP date is GMT by definition
        return None
    now = time.time() if now is None else now
    return max(0.0, when.timestamp() - now)
