"""Alert state changes: each stored with who and why, audited, and queued for notification.

pending → firing → acknowledged → resolved, plus silenced (recorded, not notified). Callers
hold the transaction; these functions never commit on their own.
"""

from datetime import datetime, timedelta

from django.conf import settings

from apps.alerts import notify
from apps.alerts.constants import FLAP_WINDOW_S, AlertState, Event
from apps.alerts.labels import silence_for
from apps.alerts.models import Alert, AlertTransition, Silence
from apps.audit.services import Actor, audit_record

ENGINE = Actor("system", "", "alert engine")
# Changes between firing and resolved that count towards flapping.
_FLAP_STATES = (AlertState.FIRING, AlertState.RESOLVED)


def transition(alert: Alert, to_state: str, *, actor: Actor, reason: str, now: datetime) -> None:
    """Move the alert to `to_state`, store the change and write it to the audit log."""
    from_state, alert.state = alert.state, to_state
    alert.save()
    AlertTransition.objects.create(
        alert=alert,
        from_state=from_state,
        to_state=to_state,
        at=now,
        actor=actor.label or actor.id or actor.kind,
        reason=reason[:2000],
    )
    audit_record(
        action=f"alert.{to_state}",
        actor=actor,
        target=f"alert:{alert.pk}",
        details={"rule": alert.rule.name, "from": from_state, "reason": reason},
    )


def fire(alert: Alert, *, now: datetime, silences: list[Silence], reason: str) -> None:
    """Fire the alert, or record it silenced when a silence matches its labels."""
    alert.fired_at = alert.fired_at or now
    silence = silence_for(alert.labels, silences, now)
    if silence is not None:
        alert.silence = silence
        transition(
            alert, AlertState.SILENCED, actor=ENGINE, reason=f"silence #{silence.pk}", now=now
        )
        return
    alert.silence = None
    alert.flapping = _flapping(alert, now)
    transition(alert, AlertState.FIRING, actor=ENGINE, reason=reason, now=now)
    notify.queue(alert, Event.FIRING, now=now)


def resolve(alert: Alert, *, actor: Actor, reason: str, now: datetime) -> None:
    """Resolve the alert; tell the channels if they were told it was firing."""
    alert.ends_at = now
    was_told = alert.notified_state == AlertState.FIRING
    if not was_told:
        alert.pending_event = ""  # fired and cleared before its group was notified: say nothing
    transition(alert, AlertState.RESOLVED, actor=actor, reason=reason, now=now)
    if was_told:
        notify.queue(alert, Event.RESOLVED, now=now)


def acknowledge(alert: Alert, *, actor: Actor, reason: str, now: datetime) -> None:
    """Acknowledge: no more repeats or escalation until the alert resolves."""
    alert.acknowledged_at = now
    alert.acknowledged_by = (actor.label or actor.id)[:200]
    transition(alert, AlertState.ACKNOWLEDGED, actor=actor, reason=reason, now=now)
    notify.at_once(alert, Event.ACKNOWLEDGED, now=now)


def _flapping(alert: Alert, now: datetime) -> bool:
    """True when this fingerprint changed between firing and resolved too often in the hour."""
    changes = AlertTransition.objects.filter(
        alert__fingerprint=alert.fingerprint,
        to_state__in=_FLAP_STATES,
        at__gte=now - timedelta(seconds=FLAP_WINDOW_S),
    ).count()
    return changes >= settings.AIVMON_ALERT_FLAP_CHANGES
