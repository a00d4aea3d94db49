"""Alert tasks: the periodic tick, on-ingest evaluation, group notifications and deliveries."""

from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from apps.alerts import delivery, engine, notify, services, triggers
from apps.core.locks import single_flight
from apps.core.selectors import retention_days
from apps.core.services import prune_locked

TICK_TIME_LIMIT_S = 120


@shared_task(
    name="aivmon.alerts.tick",
    time_limit=TICK_TIME_LIMIT_S,
    soft_time_limit=TICK_TIME_LIMIT_S - 20,
    ignore_result=True,
)
def tick() -> int:
    """Evaluate every rule, close what disabled rules left open, then escalations, repeats,
    overdue groups and overdue deliveries (one runner at a time)."""
    with single_flight("alerts.tick", timeout_s=TICK_TIME_LIMIT_S) as mine:
        if not mine:
            return 0
        now = timezone.now()
        changed = engine.rules_evaluate(now=now) + services.disabled_rules_close(now=now)
        changed += notify.escalate_due(now=now) + notify.repeat_due(now=now)
        for group_id in notify.overdue_groups(now=now):
            notify.flush(group_id=group_id, now=timezone.now())
        for delivery_id in delivery.deliveries_overdue(now=timezone.now()):
            deliver.delay(delivery_id)
        return changed


@shared_task(
    name="aivmon.alerts.evaluate_rules",
    time_limit=TICK_TIME_LIMIT_S,
    soft_time_limit=TICK_TIME_LIMIT_S - 20,
    ignore_result=True,
)
def evaluate_rules(rule_ids: list[int]) -> int:
    """Evaluate the rules an ingested batch touched, now rather than at the next tick."""
    triggers.pending_clear(rule_ids)
    return engine.rules_evaluate(rule_ids=rule_ids, now=timezone.now())


@shared_task(name="aivmon.alerts.flush_group", ignore_result=True)
def flush_group(group_id: int) -> int:
    """Send a notification group's held events once its wait is over (idempotent)."""
    return notify.flush(group_id=group_id, now=timezone.now())


@shared_task(name="aivmon.alerts.deliver", ignore_result=True)
def deliver(delivery_id: int) -> None:
    """Make a delivery's next attempt; schedule the one after when it may still succeed."""
    retry_in = delivery.delivery_attempt(delivery_id=delivery_id, now=timezone.now())
    if retry_in is not None:
        deliver.apply_async(args=[delivery_id], countdown=retry_in)


PRUNE_TIME_LIMIT_S = 600


@shared_task(
    name="aivmon.alerts.prune",
    time_limit=PRUNE_TIME_LIMIT_S,
    soft_time_limit=PRUNE_TIME_LIMIT_S - 60,
    ignore_result=True,
)
def prune() -> int:
    """Delete resolved alerts past their retention in bounded batches (one runner at a time)."""
    days = retention_days("alerts.resolved")
    if days is None:
        return 0
    before = timezone.now() - timedelta(days=days)
    return prune_locked(
        "alerts.prune",
        lambda: services.alerts_prune(before=before),
        timeout_s=PRUNE_TIME_LIMIT_S,
        max_rounds=500,
    )
