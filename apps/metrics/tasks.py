"""Periodic metrics jobs: head compaction, rollups and retention. Each takes its Redis lock and
calls services.

Both are idempotent (see rollups.py and retention.py) and bounded: a run does at most a fixed
amount of work, well inside its soft time limit, and the next run goes on where it stopped.
"""

import logging
import time
from dataclasses import asdict

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

from apps.core.locks import single_flight
from apps.metrics.constants import Resolution
from apps.metrics.points import points_compact
from apps.metrics.retention import metrics_prune
from apps.metrics.rollups import rollup_advance

logger = logging.getLogger(__name__)

QUEUE = "maintenance"
ROLLUP_TIME_LIMIT_S = 600
ROLLUP_SOFT_TIME_LIMIT_S = 540
PRUNE_TIME_LIMIT_S = 900
PRUNE_SOFT_TIME_LIMIT_S = 840
# Held a little longer than the hard limit: a worker killed mid-run frees it soon after.
ROLLUP_LOCK_S = ROLLUP_TIME_LIMIT_S + 60
PRUNE_LOCK_S = PRUNE_TIME_LIMIT_S + 60
ROLLUP_MAX_HOURS = 48  # per run: a day's backlog in one run, two days' in two
ROLLUP_MAX_DAYS = 7
PRUNE_BATCH_SIZE = 5_000
PRUNE_MAX_BATCHES = 2_000
COMPACT_TIME_LIMIT_S = 60
COMPACT_SOFT_TIME_LIMIT_S = 50
COMPACT_LOCK_S = COMPACT_TIME_LIMIT_S + 60
COMPACT_MAX_RUNS = 100  # compactions per call, each of at most HEAD_COMPACT_MAX_ROWS points


def _now_ms() -> int:
    return round(time.time() * 1000)


@shared_task(
    name="aivmon.metrics.rollup",
    queue=QUEUE,
    time_limit=ROLLUP_TIME_LIMIT_S,
    soft_time_limit=ROLLUP_SOFT_TIME_LIMIT_S,
    ignore_result=True,
)
def rollup() -> dict:
    """Roll up the closed hours, then the closed days, of every metric series."""
    with single_flight("aivmon.metrics.rollup", timeout_s=ROLLUP_LOCK_S) as acquired:
        if not acquired:
            logger.info("metrics.rollup.skipped", extra={"reason": "another run holds the lock"})
            return {"skipped": True}
        now_ms = _now_ms()
        try:
            hours = rollup_advance(
                resolution=Resolution.HOUR, now_ms=now_ms, max_buckets=ROLLUP_MAX_HOURS
            )
            days = rollup_advance(
                resolution=Resolution.DAY, now_ms=now_ms, max_buckets=ROLLUP_MAX_DAYS
            )
        except SoftTimeLimitExceeded:  # the buckets done are committed; the next run goes on
            logger.warning("metrics.rollup.time_limit")
            return {"interrupted": True}
        return {"hours": hours.buckets, "days": days.buckets}


@shared_task(
    name="aivmon.metrics.prune",
    queue=QUEUE,
    time_limit=PRUNE_TIME_LIMIT_S,
    soft_time_limit=PRUNE_SOFT_TIME_LIMIT_S,
    ignore_result=True,
)
def prune() -> dict:
    """Delete metric points, rollups and series past their retention."""
    with single_flight("aivmon.metrics.prune", timeout_s=PRUNE_LOCK_S) as acquired:
        if not acquired:
            logger.info("metrics.prune.skipped", extra={"reason": "another run holds the lock"})
            return {"skipped": True}
        try:
            result = metrics_prune(
                now_ms=_now_ms(), batch_size=PRUNE_BATCH_SIZE, max_batches=PRUNE_MAX_BATCHES
            )
        except SoftTimeLimitExceeded:  # the batches done are committed; the next run goes on
            logger.warning("metrics.prune.time_limit")
            return {"interrupted": True}
        return asdict(result)


@shared_task(
    name="aivmon.metrics.compact",
    queue=QUEUE,
    time_limit=COMPACT_TIME_LIMIT_S,
    soft_time_limit=COMPACT_SOFT_TIME_LIMIT_S,
    ignore_result=True,
)
def compact() -> dict:
    """Move the settled point head into the series-ordered table (ingest does it too while
    batches arrive; this catches up when they stop)."""
    with single_flight("aivmon.metrics.compact", timeout_s=COMPACT_LOCK_S) as acquired:
        if not acquired:
            logger.info("metrics.compact.skipped", extra={"reason": "another run holds the lock"})
            return {"skipped": True}
        moved = 0
        try:
            for _ in range(COMPACT_MAX_RUNS):
                step = points_compact(now_ms=_now_ms())
                moved += step
                if not step:
                    break
        except SoftTimeLimitExceeded:  # the compactions done are committed
            logger.warning("metrics.compact.time_limit")
            return {"interrupted": True, "moved": moved}
        return {"moved": moved}
