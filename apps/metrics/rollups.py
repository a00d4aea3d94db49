"""Hourly and daily rollups of metrics: what a rollup holds, and how the job moves on.

A rollup row summarises one series over one bucket: an hour, or a UTC day.
- count, sum, min, max and last (the value at the latest ts): of the raw values, that is
  counter and gauge values and raw histogram observations (Point rows).
- increase: what the range query's rate adds up. Delta series: the sum of the values.
  Cumulative ones: the increases between consecutive values, a drop counting as a reset (the
  new value is the increase); the bucket's first value is compared with the `last` of the
  series' latest earlier hourly rollup, whatever its age, or counts from zero when there is
  none (a new counter). Computed for every series of raw values, as rate is; it means
  something for counters.
- sketch: the raw values counted in log buckets (aggregation.py), so that percentiles of raw
  values (gauges, raw histogram observations) are answered from rollups, within ~9 %.
- histogram: the per-bucket increase of pre-aggregated histograms, as for counters (buckets
  that shrank, or another layout, mean a reset; the base is histogram_last of the series'
  latest earlier hourly rollup); delta histograms add up. One entry per bucket layout.
- summary: per reported quantile, the sum and the number of the reported values.
Daily rollups are built from the hourly ones: counts, sums, increases, histograms and sketches
add up exactly, min and max of theirs, last of the latest hour with values.

Progress: RollupState.watermark_ms, per resolution, is the end of the last bucket rolled up.
An hour is closed once it ended ROLLUP_GRACE_MS ago; a day once the hourly watermark passed
its end. `rollup_advance` rolls up closed buckets from the watermark on, in time order, each
in ONE transaction with the move of the watermark; it jumps over buckets without data, and
moves the watermark up to the last closed bucket when no data is left before it.

Idempotent: a row is an upsert on (series, resolution, bucket_start_ms), computed from the
bucket's data and earlier rollups only, and a watermark only ever moves forward; a bucket
rolled up twice (two jobs racing, a run retried after a crash) ends with the same rows.

Late data: a point arriving for a bucket already rolled up is stored and read by raw queries,
but never reaches the rollups.

The raw values are aggregated in SQL (GROUP BY, and the window functions LAG and ROW_NUMBER
of SQLite ≥ 3.25 and PostgreSQL); the JSON columns (histograms of several layouts, summaries,
sketch merges) are merged in Python, where both databases' JSON reads alike.
"""

# ruff: noqa: S608 - statements are built from table names; values are always parameters.

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import groupby
from operator import itemgetter
from typing import Any

import orjson
from django.db import connection, transaction
from django.db.models import Min, Q, QuerySet
from django.utils import timezone

from apps.metrics.aggregation import (
    SKETCH_SCALE,
    HistogramSum,
    Layout,
    Sketch,
    histogram_increases,
    sketch_add,
    sketch_slot,
)
from apps.metrics.constants import (
    DAY_MS,
    HOUR_MS,
    RESOLUTION_MS,
    ROLLUP_GRACE_MS,
    MetricType,
    Resolution,
    Temporality,
)
from apps.metrics.models import HistogramPoint, Point, Rollup, RollupState, Series, SummaryPoint
from apps.metrics.points import head_first_sql, stored_points_sql
from apps.metrics.storage import table_name

logger = logging.getLogger(__name__)

VALUE_FIELDS = [
    "count",
    "sum",
    "min",
    "max",
    "last",
    "increase",
    "sketch",
    "histogram",
    "histogram_last",
    "summary",
]
UPSERT_BATCH_SIZE = 500

Parts = dict[int, dict[str, Any]]  # series id → rollup fields


@dataclass
class RollupResult:
    buckets: int = 0  # buckets rolled up by this call
    rows: int = 0  # rollup rows written
    watermark_ms: int | None = None  # where the next call goes on


def rollup_advance(*, resolution: str, now_ms: int, max_buckets: int) -> RollupResult:
    """Roll up the closed buckets of `resolution` from its watermark on, at most `max_buckets`."""
    size_ms = RESOLUTION_MS[resolution]
    closed_ms = _closed_until(resolution, now_ms)
    result = RollupResult(watermark_ms=rollup_watermark(resolution))
    if closed_ms is None:
        return result
    start_ms = result.watermark_ms
    if start_ms is None:
        start_ms = _next_bucket(resolution, 0)
    while start_ms is not None and start_ms + size_ms <= closed_ms:
        if result.buckets == max_buckets:
            return result
        rows = _bucket_rollup(resolution, start_ms)
        result.buckets += 1
        result.rows += rows
        result.watermark_ms = start_ms = start_ms + size_ms
        if not rows:
            start_ms = _next_bucket(resolution, start_ms)
    if result.watermark_ms is not None:
        # The closed buckets before the next data (or all of them) are empty: pass over them.
        empty_until_ms = closed_ms if start_ms is None else min(start_ms, closed_ms)
        if empty_until_ms > result.watermark_ms:
            _watermark_move(resolution, empty_until_ms)
            result.watermark_ms = empty_until_ms
    return result


def rollup_watermark(resolution: str) -> int | None:
    """Return the end of the last bucket of `resolution` rolled up (None: none yet)."""
    found = RollupState.objects.filter(resolution=resolution).values_list("watermark_ms", flat=True)
    return found.first()


def _closed_until(resolution: str, now_ms: int) -> int | None:
    """Return the end of the last closed bucket (None: nothing is closed yet)."""
    if resolution == Resolution.HOUR:
        return (now_ms - ROLLUP_GRACE_MS) // HOUR_MS * HOUR_MS
    hourly_ms = rollup_watermark(Resolution.HOUR)
    return None if hourly_ms is None else hourly_ms // DAY_MS * DAY_MS


def _watermark_move(resolution: str, watermark_ms: int) -> None:
    """Move the watermark forward to `watermark_ms` (never back)."""
    state = RollupState(resolution=resolution, watermark_ms=watermark_ms)
    RollupState.objects.bulk_create([state], ignore_conflicts=True)
    RollupState.objects.filter(resolution=resolution, watermark_ms__lt=watermark_ms).update(
        watermark_ms=watermark_ms, updated_at=timezone.now()
    )


def _bucket_rollup(resolution: str, start_ms: int) -> int:
    """Write the rollups of one bucket and move the watermark past it, in one transaction."""
    end_ms = start_ms + RESOLUTION_MS[resolution]
    with transaction.atomic():
        parts_of = _hour_parts if resolution == Resolution.HOUR else _day_parts
        parts = parts_of(start_ms, end_ms)
        rollups = [
            Rollup(series_id=series_id, resolution=resolution, bucket_start_ms=start_ms, **fields)
            for series_id, fields in sorted(parts.items())  # one lock order for racing jobs
        ]
        Rollup.objects.bulk_create(
            rollups,
            batch_size=UPSERT_BATCH_SIZE,
            update_conflicts=True,
            unique_fields=["series", "resolution", "bucket_start_ms"],
            update_fields=VALUE_FIELDS,
        )
        _watermark_move(resolution, end_ms)
    logger.debug(
        "metrics.rollup.bucket",
        extra={"resolution": resolution, "bucket_start_ms": start_ms, "rows": len(rollups)},
    )
    return len(rollups)


def _merge(parts: Parts, found: Parts) -> None:
    for series_id, fields in found.items():
        parts.setdefault(series_id, {}).update(fields)


# --- where the data is ---------------------------------------------------------------------

# One index probe per series and table ((series_id, ts_ms) is their only index), and one of each
# head shard's time key: no scan.
_FIRST_POINT_SQL = """
SELECT MIN(first_ms) FROM (
    SELECT (SELECT MIN(p.ts_ms) FROM {point} p WHERE p.series_id = s.id AND p.ts_ms >= %s)
        AS first_ms FROM {series} s
    UNION ALL
    SELECT (SELECT MIN(h.ts_ms) FROM {histogram} h WHERE h.series_id = s.id AND h.ts_ms >= %s)
        FROM {series} s WHERE s.type = %s
    UNION ALL
    SELECT (SELECT MIN(m.ts_ms) FROM {summary} m WHERE m.series_id = s.id AND m.ts_ms >= %s)
        FROM {series} s WHERE s.type = %s
    UNION ALL
    {head_first}
) firsts
"""


def _next_bucket(resolution: str, from_ms: int) -> int | None:
    """Return the start of the first bucket with data at or after `from_ms` (None: no data)."""
    if resolution == Resolution.DAY:
        hours = Rollup.objects.filter(resolution=Resolution.HOUR, bucket_start_ms__gte=from_ms)
        first_ms = hours.aggregate(first=Min("bucket_start_ms"))["first"]
    else:
        head_first, head_params = head_first_sql(from_ms)
        sql = _FIRST_POINT_SQL.format(
            point=table_name(Point),
            histogram=table_name(HistogramPoint),
            summary=table_name(SummaryPoint),
            series=table_name(Series),
            head_first=head_first,
        )
        params: list[Any] = [
            *[from_ms, from_ms, MetricType.HISTOGRAM, from_ms, MetricType.SUMMARY],
            *head_params,
        ]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            first_ms = cursor.fetchone()[0]
    size_ms = RESOLUTION_MS[resolution]
    return None if first_ms is None else first_ms // size_ms * size_ms


# --- an hour, from the raw tables ----------------------------------------------------------


def _hour_parts(start_ms: int, end_ms: int) -> Parts:
    parts: Parts = {}
    _merge(parts, _value_stats(start_ms, end_ms))
    _merge(parts, _value_sketches(start_ms, end_ms))
    _merge(parts, _histogram_rollups(start_ms, end_ms))
    _merge(parts, _summary_rollups(start_ms, end_ms))
    return parts


# The series' earlier rollup is found through the unique (series, resolution, bucket) index.
_VALUE_STATS_SQL = """
WITH bucket AS (
    SELECT p.series_id, s.temporality, p.value,
        LAG(p.value) OVER (PARTITION BY p.series_id ORDER BY p.ts_ms) AS previous,
        ROW_NUMBER() OVER (PARTITION BY p.series_id ORDER BY p.ts_ms DESC) AS from_end
    FROM {points} p JOIN {series} s ON s.id = p.series_id
)
SELECT series_id, MAX(temporality), COUNT(*), SUM(value), MIN(value), MAX(value),
    MAX(CASE WHEN from_end = 1 THEN value END),
    MAX(CASE WHEN previous IS NULL THEN value END),
    SUM(CASE WHEN previous IS NULL THEN 0 WHEN value >= previous THEN value - previous
        ELSE value END),
    (SELECT r.last FROM {rollup} r WHERE r.series_id = bucket.series_id AND r.resolution = %s
        AND r.bucket_start_ms < %s AND r.count > 0 ORDER BY r.bucket_start_ms DESC LIMIT 1)
FROM bucket GROUP BY series_id
"""


def _stored_points(start_ms: int, end_ms: int) -> tuple[str, list]:
    """Every series' stored plain points in [start_ms, end_ms), as SQL and parameters (Point is
    probed series by series through its (series, ts) index)."""
    return stored_points_sql(f"SELECT id FROM {table_name(Series)}", [], start_ms, end_ms)


def _value_stats(start_ms: int, end_ms: int) -> Parts:
    """Return count, sum, min, max, last and increase of each series' raw values."""
    stored, params = _stored_points(start_ms, end_ms)
    sql = _VALUE_STATS_SQL.format(
        series=table_name(Series), points=stored, rollup=table_name(Rollup)
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, Resolution.HOUR, start_ms])
        rows = cursor.fetchall()
    found: Parts = {}
    for series_id, temporality, count, total, low, high, last, first, within, base in rows:
        if temporality == Temporality.DELTA:
            increase = total
        else:  # from the previous bucket's last value; a drop is a reset; none: a new counter
            increase = within + (first if base is None or first < base else first - base)
        found[series_id] = {
            "count": count,
            "sum": total,
            "min": low,
            "max": high,
            "last": last,
            "increase": increase,
        }
    return found


# The bucket exponent of each value, computed as aggregation.value_slot does (CEILING, FLOOR
# and LN exist on PostgreSQL and, built in or registered by Django, on SQLite).
_VALUE_SKETCH_SQL = """
SELECT p.series_id,
    CASE WHEN p.value > 0 THEN 1 WHEN p.value < 0 THEN -1 ELSE 0 END,
    CASE WHEN p.value > 0 THEN CEILING(LN(p.value) * %s)
        WHEN p.value < 0 THEN FLOOR(LN(-p.value) * %s) ELSE 0 END,
    COUNT(*)
FROM {points} p
GROUP BY 1, 2, 3
"""


def _value_sketches(start_ms: int, end_ms: int) -> Parts:
    """Return the log-bucket sketch of each series' raw values."""
    stored, params = _stored_points(start_ms, end_ms)
    with connection.cursor() as cursor:
        cursor.execute(
            _VALUE_SKETCH_SQL.format(points=stored), [SKETCH_SCALE, SKETCH_SCALE, *params]
        )
        rows = cursor.fetchall()
    sketches: dict[int, Sketch] = defaultdict(dict)
    for series_id, sign, exponent, count in rows:
        sketch_add(sketches[series_id], {sketch_slot(int(sign), int(exponent)): count})
    return {series_id: {"sketch": sketch_json(sketch)} for series_id, sketch in sketches.items()}


def sketch_json(sketch: Sketch) -> dict[str, int]:
    """Return a sketch as stored: slots as text keys, in order."""
    return {str(slot): sketch[slot] for slot in sorted(sketch)}


# The latest earlier histogram state of each cumulative histogram series with points in the
# bucket: one index probe per such series.
_HISTOGRAM_BASES_SQL = """
SELECT s.id, (
    SELECT CAST(r.histogram_last AS TEXT) FROM {rollup} r
    WHERE r.series_id = s.id AND r.resolution = %s AND r.bucket_start_ms < %s
        AND r.histogram_last IS NOT NULL
    ORDER BY r.bucket_start_ms DESC LIMIT 1)
FROM {series} s
WHERE s.type = %s AND s.temporality = %s AND EXISTS (
    SELECT 1 FROM {histogram} h WHERE h.series_id = s.id AND h.ts_ms >= %s AND h.ts_ms < %s)
"""


def _histogram_bases(start_ms: int, end_ms: int) -> dict[int, tuple[Layout, list[int]]]:
    sql = _HISTOGRAM_BASES_SQL.format(
        rollup=table_name(Rollup), series=table_name(Series), histogram=table_name(HistogramPoint)
    )
    params: list[Any] = [Resolution.HOUR, start_ms, MetricType.HISTOGRAM, Temporality.CUMULATIVE]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, start_ms, end_ms])
        rows = cursor.fetchall()
    bases = {}
    for series_id, text in rows:
        if text is not None:
            bounds, counts = orjson.loads(text)
            bases[series_id] = (tuple(bounds), counts)
    return bases


def _histogram_rollups(start_ms: int, end_ms: int) -> Parts:
    """Return the merged per-bucket increases of each series' pre-aggregated histograms."""
    bases = _histogram_bases(start_ms, end_ms)
    histograms = Series.objects.filter(type=MetricType.HISTOGRAM)
    delta = set(histograms.filter(temporality=Temporality.DELTA).values_list("id", flat=True))
    rows = (
        _in_bucket(HistogramPoint, histograms, start_ms, end_ms)
        .order_by("series_id", "ts_ms")
        .values_list("series_id", "ts_ms", "bounds", "bucket_counts")
    )
    found: Parts = {}
    for series_id, group in groupby(rows.iterator(), key=itemgetter(0)):
        points = [(ts_ms, tuple(bounds), counts) for _, ts_ms, bounds, counts in group]
        base = bases.get(series_id)
        found[series_id] = _histogram_fields(points, series_id in delta, base, start_ms)
    return found


def _in_bucket(model, series: QuerySet[Series], start_ms: int, end_ms: int) -> QuerySet:
    """The points of `series` in the bucket: `series_id IN (subquery)`, so that both databases
    look each series up in the (series_id, ts_ms) index rather than scan the table."""
    return model.objects.filter(
        series_id__in=series.values("id"), ts_ms__gte=start_ms, ts_ms__lt=end_ms
    )


def _histogram_fields(
    points: list[tuple[int, Layout, list[int]]],
    delta: bool,
    base: tuple[Layout, list[int]] | None,
    start_ms: int,
) -> dict[str, Any]:
    if delta:
        return {"histogram": _layouts(points)}
    history = points if base is None else [(start_ms - 1, *base), *points]
    increases = histogram_increases(history, from_ms=start_ms, from_zero=base is None)
    _, last_bounds, last_counts = points[-1]
    return {"histogram": _layouts(increases), "histogram_last": [last_bounds, last_counts]}


def _layouts(histograms: Iterable[tuple[int, Layout, list[int]]]) -> list[list[Any]]:
    total = HistogramSum()
    for _, bounds, counts in histograms:
        total.add(bounds, counts)
    return [[list(bounds), counts] for bounds, counts in total.layouts.items()]


def _summary_rollups(start_ms: int, end_ms: int) -> Parts:
    """Return, per series and reported quantile, the sum and number of the reported values."""
    summaries = Series.objects.filter(type=MetricType.SUMMARY)
    rows = (
        _in_bucket(SummaryPoint, summaries, start_ms, end_ms)
        .order_by("series_id", "ts_ms")
        .values_list("series_id", "quantiles")
    )
    found: Parts = {}
    for series_id, group in groupby(rows.iterator(), key=itemgetter(0)):
        summary: dict[str, list] = {}
        for _, quantiles in group:
            _summary_add(summary, {key: [value, 1] for key, value in quantiles.items()})
        found[series_id] = {"summary": summary}
    return found


def _summary_add(summary: dict[str, list], other: dict[str, list]) -> None:
    for key, (total, count) in other.items():
        entry = summary.setdefault(key, [0.0, 0])
        entry[0] += total
        entry[1] += count


# --- a day, from the hourly rollups --------------------------------------------------------

_DAY_STATS_SQL = """
WITH hours AS (
    SELECT r.series_id, r.count AS n, r.sum AS total, r.min AS low, r.max AS high,
        r.last AS last_value, r.increase AS rise,
        ROW_NUMBER() OVER (PARTITION BY r.series_id
            ORDER BY CASE WHEN r.count > 0 THEN 0 ELSE 1 END, r.bucket_start_ms DESC) AS from_end
    FROM {rollup} r
    WHERE r.resolution = %s AND r.bucket_start_ms >= %s AND r.bucket_start_ms < %s
)
SELECT series_id, SUM(n), SUM(total), MIN(low), MAX(high),
    MAX(CASE WHEN from_end = 1 THEN last_value END), SUM(rise)
FROM hours GROUP BY series_id
"""


def _day_parts(start_ms: int, end_ms: int) -> Parts:
    parts = _day_stats(start_ms, end_ms)
    hours = (
        Rollup.objects.filter(resolution=Resolution.HOUR)
        .filter(bucket_start_ms__gte=start_ms, bucket_start_ms__lt=end_ms)
        .filter(Q(sketch__isnull=False) | Q(histogram__isnull=False) | Q(summary__isnull=False))
        .order_by("series_id", "bucket_start_ms")
        .values_list("series_id", "sketch", "histogram", "histogram_last", "summary")
    )
    for series_id, group in groupby(hours.iterator(), key=itemgetter(0)):
        parts.setdefault(series_id, {}).update(_merged_json(group))
    return parts


def _day_stats(start_ms: int, end_ms: int) -> Parts:
    """Return count, sum, min, max, last and increase of each series over the day's hours."""
    with connection.cursor() as cursor:
        cursor.execute(
            _DAY_STATS_SQL.format(rollup=table_name(Rollup)),
            [Resolution.HOUR, start_ms, end_ms],
        )
        rows = cursor.fetchall()
    return {
        series_id: {
            "count": int(count),  # PostgreSQL sums bigints as numeric
            "sum": total,
            "min": low,
            "max": high,
            "last": last,
            "increase": increase,
        }
        for series_id, count, total, low, high, last, increase in rows
    }


def _merged_json(hours: Iterable[tuple]) -> dict[str, Any]:
    """Merge the JSON columns of one series' hourly rollups, in time order."""
    sketch: Sketch = {}
    histogram = HistogramSum()
    histogram_last = None
    summary: dict[str, list] = {}
    for _, hour_sketch, hour_histogram, hour_last, hour_summary in hours:
        sketch_add(sketch, hour_sketch or {})
        for bounds, counts in hour_histogram or []:
            histogram.add(tuple(bounds), counts)
        histogram_last = hour_last if hour_last is not None else histogram_last
        _summary_add(summary, hour_summary or {})
    layouts = [[list(bounds), counts] for bounds, counts in histogram.layouts.items()]
    return {
        "sketch": sketch_json(sketch) if sketch else None,
        "histogram": layouts or None,
        "histogram_last": histogram_last,
        "summary": summary or None,
    }
