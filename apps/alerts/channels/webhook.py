"""Webhook channel: a signed JSON POST in the format of API.md.

Config: `{"url", "secret"?, "headers"?}`; `secret` is stored encrypted. With a secret, the request
carries `X-Aivmon-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`, the timestamp
being the `X-Aivmon-Timestamp` header (unix seconds). Receivers check it with `verify`.
"""

import hashlib
import hmac
import json
import math
import re
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from apps.alerts.channels.base import AlertView, Notification, SendResult, Target
from apps.alerts.channels.http import post, validate_http_url

SIGNATURE_PREFIX = "sha256="
# Headers the channel sets itself: a configured header may not replace them.
RESERVED_HEADERS = frozenset(
    {"content-type", "content-length", "host", "x-aivmon-timestamp", "x-aivmon-signature"}
)
_HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """Return the X-Aivmon-Signature value for a body sent at `timestamp`."""
    message = timestamp.encode() + b"." + body
    digest = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return SIGNATURE_PREFIX + digest


def verify(
    secret: str,
    timestamp: str,
    body: bytes,
    header: str,
    *,
    tolerance_s: float | None = None,
    now: float | None = None,
) -> bool:
    """True when `header` signs this body and timestamp (and, with a tolerance, is recent)."""
    if tolerance_s is not None:
        try:
            age_s = abs((time.time() if now is None else now) - int(timestamp))
        except ValueError:
            return False
        if age_s > tolerance_s:
            return False
    return hmac.compare_digest(signature(secret, timestamp, body).encode(), header.encode())


def rfc3339(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def alert_payload(alert: AlertView) -> dict[str, Any]:
    """Return API.md's webhook `alert` object."""
    value = alert.value
    return {
        "id": alert.id,
        "rule": alert.rule,
        "fingerprint": alert.fingerprint,
        "state": alert.state,
        "severity": alert.severity,
        "labels": dict(alert.labels),
        # JSON has no NaN or infinity.
        "value": value if value is None or math.isfinite(value) else None,
        "summary": alert.summary,
        "starts_at": rfc3339(alert.starts_at),
        "url": alert.url,
    }


def payload(notification: Notification) -> dict[str, Any]:
    """Return the delivery body: `alert`, plus `alerts` when the notification holds several."""
    body: dict[str, Any] = {
        "event": notification.event,
        "alert": alert_payload(notification.alert),
    }
    if len(notification.alerts) > 1:
        body["alerts"] = [alert_payload(alert) for alert in notification.alerts]
    return body


def encode(notification: Notification) -> bytes:
    return json.dumps(payload(notification), separators=(",", ":"), allow_nan=False).encode()


class WebhookChannel:
    kind = "webhook"
    secret_fields: tuple[str, ...] = ("secret",)

    def validate(self, config: Mapping[str, Any]) -> dict[str, Any]:
        unknown = set(config) - {"url", "secret", "headers"}
        if unknown:
            raise ValueError(f"unknown webhook settings: {', '.join(sorted(unknown))}")
        cleaned: dict[str, Any] = {"url": validate_http_url(config.get("url"), field="url")}
        secret = config.get("secret")
        if secret not in (None, ""):
            if not isinstance(secret, str):
                raise ValueError("secret: must be a string")
            cleaned["secret"] = secret
        if config.get("headers"):
            cleaned["headers"] = _validate_headers(config["headers"])
        return cleaned

    def send(self, notification: Notification, target: Target, *, timeout_s: float) -> SendResult:
        conf = {**target.config, **target.secrets}
        body = encode(notification)
        timestamp = str(int(time.time()))
        headers = {**conf.get("headers", {})}
        headers["Content-Type"] = "application/json"
        headers["X-Aivmon-Timestamp"] = timestamp
        if conf.get("secret"):
            headers["X-Aivmon-Signature"] = signature(conf["secret"], timestamp, body)
        return post(conf["url"], body, headers=headers, timeout_s=timeout_s)


def _validate_headers(headers: object) -> dict[str, str]:
    if not isinstance(headers, Mapping):
        raise ValueError("headers: must be an object of header names to values")
    cleaned = {}
    for name, value in headers.items():
        if not isinstance(name, str) or not _HEADER_NAME.match(name):
            raise ValueError(f"headers: {name!r} is not a valid header name")
        if name.lower() in RESERVED_HEADERS:
            raise ValueError(f"headers: {name} is set by aivmon and cannot be configured")
        if not isinstance(value, str) or "\r" in value or "\n" in value:
            raise ValueError(f"headers: the value of {name} must be a one-line string")
        cleaned[name] = value
    return cleaned
