"""Evaluating at once the rules that fresh data touches, instead of waiting for the next tick.

Ingest (metrics) and security (threats) call these after writing. Each rule has a "pending"
flag in Redis: the first batch that sets it queues an evaluation task; the task clears the flags
before it reads, so a batch committed after that queues the next task. No batch is missed, and
a burst of batches costs one queued task per rule at a time.
"""

import contextlib
import logging
import time
from collections.abc import Iterable

import redis
from celery import current_app
from django.db import transaction
from kombu.exceptions import KombuError

from apps.alerts.models import AlertRule
from apps.core.redis import redis_client

logger = logging.getLogger(__name__)
RULES_CACHE_S = 5.0
PENDING_TTL_S = 60  # a flag whose task was lost clears itself
_PREFIX = "aivmon:alerts:pending:"
_metric_rules: tuple[float, dict[str, list[int]]] | None = None


def metrics_ingested(names: Iterable[str]) -> None:
    """Queue an evaluation of the enabled rules that watch any of these metric names."""
    watched = _rules_by_metric()
    if not watched:
        return
    rule_ids = {rule_id for name in set(names) for rule_id in watched.get(name, ())}
    _queue(rule_ids)


def kind_changed(kind: str) -> None:
    """Queue an evaluation of the enabled rules of a kind (security: a threat changed)."""
    _queue(set(AlertRule.objects.filter(enabled=True, kind=kind).values_list("pk", flat=True)))


def pending_clear(rule_ids: Iterable[int]) -> None:
    """Clear the rules' pending flags (the evaluation task, before it reads)."""
    keys = [f"{_PREFIX}{rule_id}" for rule_id in rule_ids]
    if keys:
        redis_client().delete(*keys)


def _queue(rule_ids: set[int]) -> None:
    if not rule_ids:
        return
    pipe = redis_client().pipeline(transaction=False)
    ordered = sorted(rule_ids)
    for rule_id in ordered:
        pipe.set(f"{_PREFIX}{rule_id}", 1, nx=True, ex=PENDING_TTL_S)
    try:
        replies = pipe.execute()
    except redis.RedisError as exc:  # the data is stored: the next tick evaluates it
        logger.warning("alerts.trigger.unavailable", extra={"error": str(exc)})
        return
    fresh = [rule_id for rule_id, was_set in zip(ordered, replies, strict=True) if was_set]
    if fresh:
        transaction.on_commit(lambda: _send(fresh))


def _send(rule_ids: list[int]) -> None:
    # Runs after the batch's commit: a broker gone since the flags were set must not turn an
    # acknowledged batch into an error. The flags are let go so the next batch queues again.
    try:
        current_app.send_task("aivmon.alerts.evaluate_rules", args=[rule_ids])
    except (KombuError, redis.RedisError) as exc:
        logger.warning("alerts.trigger.unavailable", extra={"error": str(exc)})
        with contextlib.suppress(redis.RedisError):
            pending_clear(rule_ids)


def _rules_by_metric() -> dict[str, list[int]]:
    global _metric_rules
    if _metric_rules is None or _metric_rules[0] < time.monotonic():
        found: dict[str, list[int]] = {}
        rules = AlertRule.objects.filter(
            enabled=True, kind__in=("metric_threshold", "metric_absence")
        )
        for rule_id, params in rules.values_list("pk", "params"):
            if isinstance(params, dict) and params.get("metric"):
                found.setdefault(params["metric"], []).append(rule_id)
        _metric_rules = (time.monotonic() + RULES_CACHE_S, found)
    return _metric_rules[1]


def rules_forget() -> None:
    """Forget the cached metric → rules map (tests; after rule changes in this process)."""
    global _metric_rules
    _metric_rules = None
