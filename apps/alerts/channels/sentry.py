"""Sentry channel: a message event per alert, sent with the channel's own DSN.

Config: `{"dsn"}`, stored encrypted. Each send builds a private `sentry_sdk.Client` (never the
global one that `sentry_sdk.init` sets up for aivmon's own errors), captures the events with
`client.capture_event` and no scope (so nothing of aivmon's own scope leaks in), flushes, closes.

sentry-sdk sends from a background thread and swallows every failure. The client here uses a
transport that writes down what became of each envelope, so a send can tell:
- accepted (2xx) → success;
- 429 (with Retry-After or X-Sentry-Rate-Limits), 5xx, network errors, timeouts, and a flush that
  ran out of time before an answer → RetryableError;
- other answers (401/403 bad key, 404 unknown project, 413 too large) → FinalError.
It cannot tell what Sentry does after accepting: inbound filters, quotas and spike protection
drop events after a 200. And after a flush timeout the event may still arrive later, so a
retried delivery can show up twice (both carry the same fingerprint and group together).
This leans on HttpTransport's `_request`, a private hook of sentry-sdk 2.75 (pinned).
"""

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from sentry_sdk import Client
from sentry_sdk.transport import HttpTransport
from sentry_sdk.utils import BadDsn, Dsn

from apps.alerts.channels.base import (
    AlertView,
    FinalError,
    Notification,
    RetryableError,
    SendResult,
    Target,
)
from apps.alerts.channels.http import retry_after_s
from apps.alerts.channels.webhook import rfc3339

if TYPE_CHECKING:
    from sentry_sdk._types import Event

Level = Literal["fatal", "error", "warning", "info"]
LEVELS: dict[str, Level] = {
    "critical": "fatal",
    "high": "error",
    "medium": "warning",
    "low": "info",
    "info": "info",
}
RESOLVED_LEVEL: Level = "info"
# Sentry drops tag keys past 32 characters and truncates values at 200.
MAX_TAG_KEY_CHARS = 32
MAX_TAG_CHARS = 200


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one envelope: an HTTP status, or the name of a network error."""

    status: int | None = None
    retry_after_s: float | None = None
    error: str = ""


class RecordingTransport(HttpTransport):
    """HttpTransport that writes down the outcome of every request it makes."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.outcomes: list[Outcome] = []
        self._outcomes_lock = threading.Lock()
        super().__init__(options)

    def _request(self, method: Any, endpoint_type: Any, body: Any, headers: Any) -> Any:
        try:
            response = super()._request(method, endpoint_type, body, headers)
        except Exception as exc:
            self._record(Outcome(error=type(exc).__name__))
            raise
        self._record(Outcome(response.status, _retry_after(response.headers)))
        return response

    def _record(self, outcome: Outcome) -> None:
        with self._outcomes_lock:
            self.outcomes.append(outcome)


def _retry_after(headers: Mapping[str, str]) -> float | None:
    limits = headers.get("X-Sentry-Rate-Limits", "")
    if limits:
        # "<seconds>:<categories>:<scope>, ..." — the longest wait covers every category.
        waits = [retry_after_s(limit.split(":")[0]) for limit in limits.split(",")]
        return max((wait for wait in waits if wait is not None), default=None)
    return retry_after_s(headers.get("Retry-After"))


def _transport_class(timeout_s: float) -> type[RecordingTransport]:
    # sentry-sdk instantiates the transport itself and reads its timeout from a class attribute.
    return type("RecordingTransport", (RecordingTransport,), {"TIMEOUT": timeout_s})


def event(notification: Notification, alert: AlertView) -> "Event":
    """Return the Sentry event for one alert of a notification."""
    level = LEVELS.get(alert.severity, "info")
    if notification.event == "resolved":
        level = RESOLVED_LEVEL
    tags = {
        f"label.{name}"[:MAX_TAG_KEY_CHARS]: value[:MAX_TAG_CHARS]
        for name, value in alert.labels.items()
    }
    tags.update(
        {
            "rule": alert.rule[:MAX_TAG_CHARS],
            "severity": alert.severity,
            "state": alert.state,
            "event": notification.event,
        }
    )
    return {
        "message": f"[{notification.event}] {alert.summary}",
        "level": level,
        "logger": "aivmon.alerts",
        "fingerprint": [alert.fingerprint],
        "tags": tags,
        "extra": {
            "alert_id": alert.id,
            "labels": dict(alert.labels),
            "alert_url": alert.url,
            "runbook_url": alert.runbook_url,
            "value": alert.value,
            "starts_at": rfc3339(alert.starts_at),
            "description": alert.description,
        },
    }


class SentryChannel:
    kind = "sentry"
    secret_fields: tuple[str, ...] = ("dsn",)

    def validate(self, config: Mapping[str, Any]) -> dict[str, Any]:
        unknown = set(config) - {"dsn"}
        if unknown:
            raise ValueError(f"unknown sentry settings: {', '.join(sorted(unknown))}")
        dsn = config.get("dsn")
        if not isinstance(dsn, str) or not dsn.strip():
            raise ValueError("dsn: a Sentry DSN is required")
        try:
            Dsn(dsn.strip())
        except BadDsn as exc:
            raise ValueError(f"dsn: not a valid Sentry DSN ({exc})") from exc
        return {"dsn": dsn.strip()}

    def send(self, notification: Notification, target: Target, *, timeout_s: float) -> SendResult:
        dsn = {**target.config, **target.secrets}["dsn"]
        client = _client(dsn, timeout_s)
        try:
            event_ids = [client.capture_event(event(notification, a)) for a in notification.alerts]
            client.flush(timeout=timeout_s)
            transport = client.transport
            assert isinstance(transport, RecordingTransport)
            outcomes = list(transport.outcomes)
        finally:
            client.close(timeout=0)
        sent_ids = [event_id for event_id in event_ids if event_id]
        _raise_unless_delivered(outcomes, expected=len(sent_ids))
        status = outcomes[-1].status if outcomes else None
        return SendResult(status_code=status, detail=" ".join(sent_ids))


def _client(dsn: str, timeout_s: float) -> Client:
    try:
        return Client(
            dsn,
            transport=_transport_class(timeout_s),
            default_integrations=False,
            auto_enabling_integrations=False,
            send_client_reports=False,
            enable_backpressure_handling=False,  # its monitor is one more thread per send
            # Set, or sentry-sdk would run `git rev-parse` and read the host name.
            release="aivmon",
            server_name="aivmon",
        )
    except BadDsn as exc:
        raise FinalError(f"not a valid Sentry DSN: {exc}") from exc


def _raise_unless_delivered(outcomes: list[Outcome], *, expected: int) -> None:
    for outcome in outcomes:
        if outcome.error:
            raise RetryableError(f"cannot reach Sentry: {outcome.error}")
        assert outcome.status is not None
        if outcome.status == 429 or outcome.status >= 500:
            raise RetryableError(
                f"Sentry answered {outcome.status}",
                status_code=outcome.status,
                retry_after_s=outcome.retry_after_s,
            )
        if not 200 <= outcome.status < 300:
            raise FinalError(f"Sentry answered {outcome.status}", status_code=outcome.status)
    if len(outcomes) < expected:
        raise RetryableError("Sentry did not confirm the event before the timeout")
