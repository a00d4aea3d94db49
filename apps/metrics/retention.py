"""Retention of metrics: raw points, hourly and daily rollups, and series nobody writes any more.

Rules (the retention days are RetentionPolicy rows, read on every call; None keeps forever):
- Raw points (the three point tables and the head) older than "metrics.raw" go, but only
  below the hourly watermark: a point is never deleted before the hourly rollup of its hour
  is written.
- Hourly rollups older than "metrics.hourly" go, only below the daily watermark (the day they
  belong to is rolled up); daily rollups older than "metrics.daily". A rollup goes once the
  end of its bucket is past the cutoff.
- A series with no point and no rollup left, not written to (last_seen) for the raw retention,
  goes too, in the same transaction as a new series epoch: every process drops its cached
  series ids, and a later write of the same series creates it again.

Work comes in batches of at most `batch_size` rows, each in its own short transaction, at most
`max_batches` per call; the next call goes on where this one stopped. Deleting is idempotent:
running twice deletes nothing more the second time.
"""

# ruff: noqa: S608 - statements are built from table names; values are always parameters.

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import connection, transaction

from apps.core.selectors import retention_days
from apps.metrics.constants import DAY_MS, HEAD_SHARDS, RESOLUTION_MS, Resolution
from apps.metrics.models import HistogramPoint, Point, PointHead, Rollup, Series, SummaryPoint
from apps.metrics.points import EVERY_SHARD
from apps.metrics.rollups import rollup_watermark
from apps.metrics.services import series_cache_invalidate
from apps.metrics.storage import in_list, list_param, table_name, timestamp_param

logger = logging.getLogger(__name__)

SERIES_CHUNK = 500  # series whose old points one statement deletes


@dataclass
class PruneResult:
    points: int = 0
    histogram_points: int = 0
    summary_points: int = 0
    hourly: int = 0
    daily: int = 0
    series: int = 0
    complete: bool = True  # False: max_batches stopped the call; the next one goes on


@dataclass
class _Budget:
    batches_left: int
    ran_out: bool = False  # a batch was refused: work may be left for the next call

    def spend(self) -> bool:
        """Take one batch; False when none is left."""
        if self.batches_left <= 0:
            self.ran_out = True
            return False
        self.batches_left -= 1
        return True


@dataclass(frozen=True)
class _Cutoffs:
    raw_ms: int | None
    hourly_ms: int | None
    daily_ms: int | None
    series_seen_ms: int | None


def metrics_prune(*, now_ms: int, batch_size: int, max_batches: int = 10_000) -> PruneResult:
    """Delete metric data past its retention, in batches; return how much of each kind."""
    cutoffs = _cutoffs(now_ms)
    budget = _Budget(max_batches)
    result = PruneResult()
    if cutoffs.raw_ms is not None:
        result.points = _points_prune(Point, cutoffs.raw_ms, batch_size, budget)
        result.points += _head_prune(cutoffs.raw_ms, batch_size, budget)
        result.histogram_points = _points_prune(HistogramPoint, cutoffs.raw_ms, batch_size, budget)
        result.summary_points = _points_prune(SummaryPoint, cutoffs.raw_ms, batch_size, budget)
    if cutoffs.hourly_ms is not None:
        result.hourly = _rollups_prune(Resolution.HOUR, cutoffs.hourly_ms, batch_size, budget)
    if cutoffs.daily_ms is not None:
        result.daily = _rollups_prune(Resolution.DAY, cutoffs.daily_ms, batch_size, budget)
    if cutoffs.series_seen_ms is not None:
        result.series = _series_prune(cutoffs.series_seen_ms, batch_size, budget)
    result.complete = not budget.ran_out
    logger.info("metrics.prune.done", extra=vars(result))
    return result


def _cutoffs(now_ms: int) -> _Cutoffs:
    """Return what is older than what goes: None keeps that kind of data."""
    raw_ms = _retention_cutoff("metrics.raw", now_ms)
    hourly_ms = _retention_cutoff("metrics.hourly", now_ms)
    daily_ms = _retention_cutoff("metrics.daily", now_ms)
    return _Cutoffs(
        raw_ms=_below(raw_ms, rollup_watermark(Resolution.HOUR)),
        hourly_ms=_below(hourly_ms, rollup_watermark(Resolution.DAY)),
        daily_ms=daily_ms,
        series_seen_ms=raw_ms,
    )


def _retention_cutoff(key: str, now_ms: int) -> int | None:
    days = retention_days(key)
    return None if days is None else now_ms - days * DAY_MS


def _below(cutoff_ms: int | None, watermark_ms: int | None) -> int | None:
    """Never past the watermark: nothing is deleted before its rollup is written."""
    if cutoff_ms is None or watermark_ms is None:
        return None
    return min(cutoff_ms, watermark_ms)


# --- raw points ------------------------------------------------------------------------------

# Keyset walk over the series holding old points: one index probe per series, no table scan
# (the point tables' only index is (series_id, ts_ms)).
_SERIES_WITH_OLD_SQL = """
SELECT s.id FROM {series} s
WHERE s.id > %s AND EXISTS (SELECT 1 FROM {table} t WHERE t.series_id = s.id AND t.ts_ms < %s)
ORDER BY s.id LIMIT %s
"""
_POINTS_DELETE_SQL = """
DELETE FROM {table} WHERE id IN (
    SELECT id FROM {table} WHERE {series_in} AND ts_ms < %s LIMIT %s)
"""


def _points_prune(model, before_ms: int, batch_size: int, budget: _Budget) -> int:
    """Delete the points of `model` before `before_ms`, series chunk by series chunk."""
    table = table_name(model)
    find = _SERIES_WITH_OLD_SQL.format(series=table_name(Series), table=table)
    delete = _POINTS_DELETE_SQL.format(table=table, series_in=in_list("series_id"))
    deleted, after_id = 0, 0
    while not budget.ran_out:
        with connection.cursor() as cursor:
            cursor.execute(find, [after_id, before_ms, SERIES_CHUNK])
            series_ids = [row[0] for row in cursor.fetchall()]
        if not series_ids:
            break
        params = [list_param(series_ids), before_ms, batch_size]
        deleted += _in_batches(delete, params, batch_size, budget)
        after_id = series_ids[-1]
    return deleted


# The head holds old points only when nothing compacted it for that long: a range of its key.
_HEAD_DELETE_SQL = """
DELETE FROM {head} WHERE (shard, ts_ms, series_id) IN (
    SELECT shard, ts_ms, series_id FROM {head} WHERE {every_shard} AND ts_ms < %s LIMIT %s)
"""


def _head_prune(before_ms: int, batch_size: int, budget: _Budget) -> int:
    """Delete the head's points before `before_ms`."""
    if not PointHead.objects.filter(shard__in=range(HEAD_SHARDS), ts_ms__lt=before_ms).exists():
        return 0
    sql = _HEAD_DELETE_SQL.format(head=table_name(PointHead), every_shard=EVERY_SHARD)
    return _in_batches(sql, [before_ms, batch_size], batch_size, budget)


def _in_batches(
    sql: str,
    params: list,
    batch_size: int,
    budget: _Budget,
    *,
    then: Callable[[], None] | None = None,
) -> int:
    """Run a DELETE of at most `batch_size` rows until it deletes fewer, each in a transaction
    (with `then`, called in it when rows went); return how many rows went."""
    deleted = 0
    while budget.spend():
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                count = cursor.rowcount
            if count and then is not None:
                then()
        deleted += count
        if count < batch_size:
            break
    return deleted


# --- rollups ---------------------------------------------------------------------------------

_ROLLUPS_DELETE_SQL = """
DELETE FROM {rollup} WHERE id IN (
    SELECT id FROM {rollup} WHERE resolution = %s AND bucket_start_ms <= %s LIMIT %s)
"""


def _rollups_prune(resolution: str, before_ms: int, batch_size: int, budget: _Budget) -> int:
    """Delete the rollups of `resolution` whose bucket ended by `before_ms`."""
    sql = _ROLLUPS_DELETE_SQL.format(rollup=table_name(Rollup))
    last_start_ms = before_ms - RESOLUTION_MS[resolution]
    return _in_batches(sql, [str(resolution), last_start_ms, batch_size], batch_size, budget)


# --- series ----------------------------------------------------------------------------------

# The conditions are checked again by the DELETE itself: on PostgreSQL a write that touched
# last_seen meanwhile makes the row no longer match once that write commits.
_EMPTY_SERIES_CONDITION = """
    last_seen < %s
    AND NOT EXISTS (SELECT 1 FROM {point} p WHERE p.series_id = {series}.id)
    AND {series}.id NOT IN (SELECT series_id FROM {head})
    AND NOT EXISTS (SELECT 1 FROM {histogram} h WHERE h.series_id = {series}.id)
    AND NOT EXISTS (SELECT 1 FROM {summary} m WHERE m.series_id = {series}.id)
    AND NOT EXISTS (SELECT 1 FROM {rollup} r WHERE r.series_id = {series}.id)
"""
_SERIES_DELETE_SQL = """
DELETE FROM {series} WHERE id IN (SELECT id FROM {series} WHERE {condition} LIMIT %s)
    AND {condition}
"""


def _series_prune(seen_before_ms: int, batch_size: int, budget: _Budget) -> int:
    """Delete series with nothing left, unseen since `seen_before_ms`; turn the series epoch."""
    series = table_name(Series)
    condition = _EMPTY_SERIES_CONDITION.format(
        series=series,
        point=table_name(Point),
        head=table_name(PointHead),
        histogram=table_name(HistogramPoint),
        summary=table_name(SummaryPoint),
        rollup=table_name(Rollup),
    )
    sql = _SERIES_DELETE_SQL.format(series=series, condition=condition)
    seen = timestamp_param(datetime.fromtimestamp(seen_before_ms / 1000, tz=UTC))
    params = [seen, batch_size, seen]
    return _in_batches(sql, params, batch_size, budget, then=series_cache_invalidate)
