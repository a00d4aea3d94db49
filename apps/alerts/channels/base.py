"""The one small interface every notification channel implements.

A channel gets a Notification (one alert, or a group of alerts sharing a group key) and the
channel's target (its plain config plus its decrypted secrets), and sends it once. It raises
RetryableError when a later attempt may succeed (network errors, timeouts, 5xx, 429) and
FinalError when it cannot (other 4xx, bad config). Retries, backoff and the delivery ledger are
the caller's (apps.alerts delivery task); a channel never sleeps and never touches the database,
except the email channel resolving a role to addresses through apps.accounts.selectors.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

EVENTS = ("firing", "resolved", "acknowledged", "escalated", "test")


@dataclass(frozen=True, slots=True)
class AlertView:
    """One alert as channels see it (API.md's webhook `alert` object, plus text for people)."""

    id: int
    rule: str
    fingerprint: str
    state: str  # pending | firing | acknowledged | resolved | silenced
    severity: str  # info | low | medium | high | critical
    labels: Mapping[str, str]
    value: float | None
    summary: str
    starts_at: datetime
    url: str  # absolute link to the alert in aivmon
    description: str = ""
    ends_at: datetime | None = None
    runbook_url: str = ""


@dataclass(frozen=True, slots=True)
class Notification:
    """What one delivery sends: an event about one alert or a group of them."""

    event: str  # one of EVENTS
    alerts: tuple[AlertView, ...]
    group_key: str = ""

    @property
    def alert(self) -> AlertView:
        """The first (for a single notification, the only) alert."""
        return self.alerts[0]


@dataclass(frozen=True, slots=True)
class Target:
    """A configured channel: its plain config and its decrypted secret fields."""

    name: str
    kind: str
    config: Mapping[str, Any]
    secrets: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SendResult:
    """A successful send: the response code (if any) and a short note (e.g. the issue URL)."""

    status_code: int | None = None
    detail: str = ""


class ChannelError(Exception):
    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class RetryableError(ChannelError):
    """A later attempt may succeed; `retry_after_s` is the server's Retry-After, if it sent one."""

    def __init__(
        self, message: str, *, status_code: int | None = None, retry_after_s: float | None = None
    ) -> None:
        super().__init__(message, status_code=status_code)
        self.retry_after_s = retry_after_s


class FinalError(ChannelError):
    """No later attempt can succeed without a change (4xx other than 429, bad config)."""


class Channel(Protocol):
    kind: str
    secret_fields: tuple[str, ...]  # config keys stored encrypted and never shown again

    def validate(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """Return the config cleaned, or raise ValueError saying what is wrong (a 400)."""
        ...

    def send(self, notification: Notification, target: Target, *, timeout_s: float) -> SendResult:
        """Send once, or raise RetryableError / FinalError."""
        ...
