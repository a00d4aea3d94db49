"""Turning alert events into deliveries: grouped (group wait, group interval), repeated while
firing unacknowledged, escalated by policy, damped while flapping.

Work is handed to the Celery tasks by name after commit, so this module never imports tasks.
"""

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta

from celery import current_app
from django.db import transaction

from apps.alerts.constants import AlertState, DeliveryStatus, Event
from apps.alerts.labels import group_key
from apps.alerts.models import Alert, AlertRule, Channel, Delivery, NotificationGroup

# The shortest cycle of a repeating escalation policy.
MIN_ESCALATION_CYCLE_S = 60
# A flush task may run this early (countdowns are rounded; clocks of workers differ slightly).
FLUSH_EARLY = timedelta(milliseconds=250)


def queue(alert: Alert, event: str, *, now: datetime) -> None:
    """Hold the alert's event for its group's next notification, and make sure one is due."""
    if event == Event.FIRING and alert.flapping:
        return  # damped: recorded, not sent
    rule = alert.rule
    alert.group_key = group_key(rule, alert.labels)
    alert.pending_event = event
    alert.save(update_fields=["group_key", "pending_event"])
    group, _ = NotificationGroup.objects.get_or_create(
        rule=rule,
        key=alert.group_key,
        defaults={"labels": {name: alert.labels.get(name, "") for name in rule.group_by}},
    )
    if group.flush_at is None:
        group.flush_at = _next_flush(rule, group, now)
        group.save(update_fields=["flush_at"])
        _after_commit("aivmon.alerts.flush_group", group.pk, at=group.flush_at, now=now)


def _next_flush(rule: AlertRule, group: NotificationGroup, now: datetime) -> datetime:
    interval = timedelta(seconds=rule.group_interval_s)
    if group.last_flushed_at is None or group.last_flushed_at + interval <= now:
        return now + timedelta(seconds=rule.group_wait_s)
    return group.last_flushed_at + interval


def at_once(alert: Alert, event: str, *, now: datetime) -> None:
    """Notify the rule's channels of one alert's event at once (acknowledgements)."""
    _deliver(event, [alert], alert.rule.channels.filter(enabled=True), now=now)


def flush(*, group_id: int, now: datetime) -> int:
    """Send the group's held events, one delivery per channel and event; return how many."""
    with transaction.atomic():
        group = NotificationGroup.objects.select_for_update().filter(pk=group_id).first()
        if group is None or group.flush_at is None or group.flush_at > now + FLUSH_EARLY:
            return 0
        held = list(
            Alert.objects.filter(rule_id=group.rule_id, group_key=group.key)
            .exclude(pending_event="")
            .select_related("rule")
        )
        sent = _flush_held(group.rule, held, now)
        group.flush_at, group.last_flushed_at = None, now
        group.save(update_fields=["flush_at", "last_flushed_at"])
    return sent


def _flush_held(rule: AlertRule, held: list[Alert], now: datetime) -> int:
    by_event: dict[str, list[Alert]] = defaultdict(list)
    for alert in held:
        if alert.pending_event != Event.FIRING or alert.state == AlertState.FIRING:
            by_event[alert.pending_event].append(alert)
        alert.pending_event = ""
    channels = list(rule.channels.filter(enabled=True))
    sent = 0
    for event, members in by_event.items():
        sent += _deliver(event, members, channels, now=now)
        for alert in members:
            alert.notified_state = AlertState.FIRING if event == Event.FIRING else event
            alert.last_notified_at = now
    Alert.objects.bulk_update(held, ["pending_event", "notified_state", "last_notified_at"])
    return sent


def _deliver(
    event: str,
    alerts: list[Alert],
    channels: Iterable[Channel],
    *,
    now: datetime,
    role: str = "",
) -> int:
    """Create a delivery per channel (and one for a role's e-mail) and hand each to a worker."""
    key = alerts[0].group_key if alerts else ""
    targets: list[tuple[Channel | None, str]] = [(channel, "") for channel in channels]
    if role:
        targets.append((None, role))
    for channel, recipients_role in targets:
        delivery = Delivery.objects.create(
            channel=channel,
            event=event,
            group_key=key,
            recipients_role=recipients_role,
            status=DeliveryStatus.PENDING,
            created_at=now,
        )
        delivery.alerts.set(alerts)
        _after_commit("aivmon.alerts.deliver", delivery.pk, at=now, now=now)
    return len(targets)


def repeat_due(*, now: datetime) -> int:
    """Queue the firing, unacknowledged alerts of enabled rules whose repeat interval has passed;
    return how many."""
    due = 0
    firing = Alert.objects.filter(
        state=AlertState.FIRING,
        notified_state=AlertState.FIRING,
        pending_event="",
        rule__enabled=True,
    ).select_related("rule")
    for alert in firing:
        last = alert.last_notified_at
        if last and last + timedelta(seconds=alert.rule.repeat_interval_s) <= now:
            queue(alert, Event.FIRING, now=now)
            due += 1
    return due


def escalate_due(*, now: datetime) -> int:
    """Take the next escalation step of every firing alert of an enabled rule whose step is due;
    return how many."""
    taken = 0
    firing = Alert.objects.filter(
        state=AlertState.FIRING, rule__enabled=True, rule__escalation_policy__isnull=False
    ).select_related("rule__escalation_policy")
    for alert in firing:
        taken += _escalate(alert, now)
    return taken


def _escalate(alert: Alert, now: datetime) -> int:
    policy = alert.rule.escalation_policy
    assert policy is not None  # noqa: S101  (filtered above)
    steps = list(policy.steps.order_by("position").prefetch_related("channels"))
    done = alert.escalation_step
    if not steps or (done >= len(steps) and not policy.repeat):
        return 0
    cycle, index = divmod(done, len(steps))
    period = max(steps[-1].after_s, MIN_ESCALATION_CYCLE_S)
    step = steps[index]
    fired_at = alert.fired_at or alert.starts_at
    if fired_at + timedelta(seconds=cycle * period + step.after_s) > now:
        return 0
    _deliver(Event.ESCALATED, [alert], step.channels.filter(enabled=True), now=now, role=step.role)
    alert.escalation_step = done + 1
    alert.save(update_fields=["escalation_step"])
    return 1


def overdue_groups(*, now: datetime) -> list[int]:
    """Return the groups whose notification is overdue (its task was lost or is late)."""
    late = now - timedelta(seconds=5)
    return list(NotificationGroup.objects.filter(flush_at__lte=late).values_list("pk", flat=True))


def _after_commit(task: str, object_id: int, *, at: datetime, now: datetime) -> None:
    countdown = max(0.0, (at - now).total_seconds())
    transaction.on_commit(
        lambda: current_app.send_task(task, args=[object_id], countdown=countdown or None)
    )
