"""Sending one delivery: build the notification, call its channel once, record the attempt,
and say when to try again (exponential backoff with jitter, honouring Retry-After).

Each attempt is claimed with a compare-and-set on the attempt count, so a delivery handed to
two workers at once is sent once.
"""

import logging
import random
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models.functions import Coalesce

from apps.alerts.channels.base import (
    AlertView,
    ChannelError,
    FinalError,
    Notification,
    RetryableError,
    SendResult,
    Target,
)
from apps.alerts.channels.registry import channel_for
from apps.alerts.constants import DeliveryStatus
from apps.alerts.crypto import secrets_decrypt
from apps.alerts.metrics import NOTIFICATIONS
from apps.alerts.models import Alert, Channel, Delivery, DeliveryAttempt

logger = logging.getLogger(__name__)
EMAIL = "email"
# A delivery still waiting this long after its attempt was due is handed to a worker again.
OVERDUE_AFTER = timedelta(minutes=2)
OVERDUE_BATCH = 500


def delivery_attempt(*, delivery_id: int, now: datetime, retry: bool = True) -> float | None:
    """Make the delivery's next attempt; return seconds until a retry is due, or None (sent,
    dead, or `retry` off: a channel test is tried once)."""
    delivery = Delivery.objects.select_related("channel").filter(pk=delivery_id).first()
    if delivery is None or delivery.status not in (DeliveryStatus.PENDING, DeliveryStatus.RETRYING):
        return None
    claimed = Delivery.objects.filter(
        pk=delivery.pk, attempts=delivery.attempts, status=delivery.status
    ).update(attempts=delivery.attempts + 1)
    if not claimed:
        return None  # another worker has this attempt
    delivery.attempts += 1
    started = time.perf_counter()
    result, error = _send(delivery)
    latency_ms = (time.perf_counter() - started) * 1000
    retry_in = _record(delivery, result, error, latency_ms, now, retry=retry)
    NOTIFICATIONS.labels(channel_kind=_kind(delivery), outcome=_outcome(error)).inc()
    return retry_in


def _send(delivery: Delivery) -> tuple[SendResult | None, ChannelError | None]:
    try:
        kind, target = _target(delivery)
        target_check(kind, target)
        notification = notification_for(delivery)
        return channel_for(kind).send(
            notification, target, timeout_s=settings.AIVMON_ALERT_SEND_TIMEOUT_S
        ), None
    except ChannelError as exc:
        return None, exc
    except ValueError as exc:  # a channel whose config or secrets cannot be used
        return None, FinalError(str(exc))
    except Exception as exc:  # a bug or an answer the plug-in did not expect: retry, then dead
        logger.exception("alerts.delivery.unexpected_error", extra={"delivery": delivery.pk})
        return None, RetryableError(f"unexpected {type(exc).__name__}: {exc}")


def deliveries_overdue(*, now: datetime) -> list[int]:
    """Return the deliveries whose attempt is overdue by OVERDUE_AFTER (its task was lost, or a
    worker died mid-attempt), pushing their due time to now so that each is handed out once
    per OVERDUE_AFTER however often this runs; a late task that still arrives is harmless, as
    each attempt is claimed."""
    with transaction.atomic():
        due = Coalesce("next_attempt_at", "created_at")
        ids = list(
            Delivery.objects.select_for_update(skip_locked=True)
            .alias(due=due)
            .filter(
                status__in=(DeliveryStatus.PENDING, DeliveryStatus.RETRYING),
                due__lte=now - OVERDUE_AFTER,
            )
            .order_by("pk")
            .values_list("pk", flat=True)[:OVERDUE_BATCH]
        )
        Delivery.objects.filter(pk__in=ids).update(next_attempt_at=now)
    return ids


def target_check(kind: str, target: Target) -> None:
    """Raise FinalError unless the stored config passes the kind's checks (a channel stored
    before a check existed, or changed in the database, fails here and not inside `send`)."""
    try:
        channel_for(kind).validate({**target.config, **target.secrets})
    except ValueError as exc:
        raise FinalError(f"the stored config of this {kind} channel cannot be used: {exc}") from exc


def _kind(delivery: Delivery) -> str:
    return delivery.channel.kind if delivery.channel is not None else EMAIL


def _outcome(error: ChannelError | None) -> str:
    if error is None:
        return "sent"
    return "retryable" if isinstance(error, RetryableError) else "final"


def _target(delivery: Delivery) -> tuple[str, Target]:
    channel = delivery.channel
    if channel is None:
        return EMAIL, Target(
            f"role {delivery.recipients_role}", EMAIL, {"role": delivery.recipients_role}
        )
    return channel.kind, channel_target(channel)


def channel_target(channel: Channel) -> Target:
    """Return a channel's config with its secret fields decrypted, as the plug-in takes it."""
    secrets = secrets_decrypt(channel.secrets_token) if channel.secrets_token else {}
    return Target(channel.name, channel.kind, channel.config, secrets)


@transaction.atomic
def _record(
    delivery: Delivery,
    result: SendResult | None,
    error: ChannelError | None,
    latency_ms: float,
    now: datetime,
    *,
    retry: bool,
) -> float | None:
    outcome = _outcome(error)
    DeliveryAttempt.objects.create(
        delivery=delivery,
        at=now,
        outcome=outcome,
        status_code=(result.status_code if result else error.status_code if error else None),
        error=str(error or "")[:2000],
        latency_ms=latency_ms,
    )
    retry_in = _retry_in(delivery, error) if retry else None
    _settle(delivery, result, error, retry_in, now)
    logger.info("alerts.delivery.attempt", extra={"delivery": delivery.pk, "outcome": outcome})
    return retry_in


def _settle(delivery, result, error, retry_in: float | None, now: datetime) -> None:
    if error is None:
        delivery.status, delivery.sent_at = DeliveryStatus.SENT, now
        delivery.last_status_code = result.status_code if result else None
        delivery.detail, delivery.last_error = (result.detail if result else "")[:2000], ""
    else:
        delivery.status = DeliveryStatus.RETRYING if retry_in is not None else DeliveryStatus.DEAD
        delivery.last_status_code, delivery.last_error = error.status_code, str(error)[:2000]
    delivery.next_attempt_at = now + timedelta(seconds=retry_in) if retry_in is not None else None
    delivery.save()


def _retry_in(delivery: Delivery, error: ChannelError | None) -> float | None:
    if not isinstance(error, RetryableError):
        return None
    if delivery.attempts >= settings.AIVMON_ALERT_DELIVERY_ATTEMPTS:
        return None
    return backoff_s(delivery.attempts, retry_after_s=error.retry_after_s)


def backoff_s(attempts: int, *, retry_after_s: float | None = None) -> float:
    """Return the wait before the next attempt: base·2^(n−1), half of it jittered ("equal
    jitter", so waits still grow), never less than the server's Retry-After, capped."""
    ceiling = settings.AIVMON_ALERT_RETRY_BASE_S * 2 ** (attempts - 1)
    wait = ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311  (jitter, not secrecy)
    return min(max(wait, retry_after_s or 0.0), settings.AIVMON_ALERT_RETRY_MAX_S)


def notification_for(delivery: Delivery) -> Notification:
    """Return what the delivery tells: its event about its alerts."""
    alerts = delivery.alerts.select_related("rule").order_by("pk")
    views = tuple(alert_view(alert) for alert in alerts) or (sample_view(delivery.created_at),)
    return Notification(delivery.event, views, delivery.group_key)


def sample_view(now: datetime) -> AlertView:
    """Return the made-up alert a channel's test notification carries."""
    return AlertView(
        id=0,
        rule="aivmon test",
        fingerprint="0" * 64,
        state="firing",
        severity="info",
        labels={"alertname": "aivmon test"},
        value=None,
        summary="Test notification from aivmon: this channel works.",
        starts_at=now,
        url=f"{settings.AIVMON_PUBLIC_URL}/ui/alerts/",
    )


def alert_view(alert: Alert) -> AlertView:
    """Return an alert as channels see it."""
    return AlertView(
        id=alert.pk,
        rule=alert.rule.name,
        fingerprint=alert.fingerprint,
        state=alert.state,
        severity=alert.get_severity_display(),
        labels=alert.labels,
        value=alert.value,
        summary=alert.summary,
        starts_at=alert.starts_at,
        url=f"{settings.AIVMON_PUBLIC_URL}/ui/alerts/{alert.pk}/",
        description=alert.description,
        ends_at=alert.ends_at,
        runbook_url=alert.rule.runbook_url,
    )
