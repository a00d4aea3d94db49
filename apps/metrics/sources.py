"""Where a range query reads its numbers from: raw points, hourly or daily rollups.

`source_for` chooses, for the query's window:
- raw points, for ranges up to 2 days that start within the raw retention;
- else rollups: hourly ones for ranges up to 30 days that start within the hourly retention,
  daily ones beyond. A tier of rollups answers only up to its watermark; after it the next
  finer tier does (daily → hourly → raw points), so the latest hours are never missing.
When rollups answer, the window is widened to whole rollups: its start moves back to the start
of its hour (day), its step up to a multiple of an hour (day), and a rollup counts in the step
holding its start. Where no rollup can answer (none written yet, or none in the window), the
window stays as asked and raw points answer it.

Every source offers the same reads, each yielding rows placed on one window's steps; `Sources`
chains the reads of the tiers answering a window. Reads of a tier are clipped to its span.
"""

import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import chain, groupby
from operator import itemgetter
from typing import cast

import orjson
from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet, TextField
from django.db.models.functions import Cast

from apps.core.selectors import retention_days
from apps.metrics.aggregation import Layout, Sketch, counter_increases, histogram_increases
from apps.metrics.constants import (
    DAY_MS,
    HOURLY_QUERY_MAX_RANGE_MS,
    MIN_LOOKBACK_MS,
    RAW_QUERY_MAX_RANGE_MS,
    RESOLUTION_MS,
    Resolution,
)
from apps.metrics.models import (
    HistogramPoint,
    Rollup,
    RollupState,
    Series,
    SummaryPoint,
)
from apps.metrics.points import stored_before, stored_points_sql

Stats = tuple[int, int, int, float, float, float]  # series id, step, count, sum, min, max
Increase = tuple[int, int, float]  # series id, ts_ms, increase
Buckets = tuple[int, int, Layout, list[int]]  # series id, ts_ms, bounds, per-bucket increase
Reported = tuple[int, int, float, int]  # series id, ts_ms, sum of reported values, how many


@dataclass(frozen=True, slots=True)
class Window:
    """A half-open time range [start_ms, end_ms) cut into steps aligned on its start."""

    start_ms: int
    end_ms: int
    step_ms: int

    @property
    def step_s(self) -> float:
        return self.step_ms / 1000

    def bucket(self, ts_ms: int) -> int:
        return (ts_ms - self.start_ms) // self.step_ms

    def bucket_start_s(self, bucket: int) -> float:
        return (self.start_ms + bucket * self.step_ms) / 1000


class _Span:
    """The part [from_ms, to_ms) of every window a source answers (None: the window's own)."""

    def __init__(self, from_ms: int | None = None, to_ms: int | None = None) -> None:
        self.from_ms = from_ms
        self.to_ms = to_ms

    def clip(self, window: Window) -> tuple[int, int]:
        start_ms = window.start_ms if self.from_ms is None else max(window.start_ms, self.from_ms)
        end_ms = window.end_ms if self.to_ms is None else min(window.end_ms, self.to_ms)
        return start_ms, end_ms


# The stored points (points.stored_points_sql, around the ORM-compiled series subquery) are
# formatted in; values are parameters.
_BUCKET_STATS_SQL = (
    "SELECT series_id, (ts_ms - %s) / %s AS bucket, COUNT(value), SUM(value), MIN(value), "
    "MAX(value) FROM {points} p GROUP BY series_id, bucket"
)
_SAMPLES_SQL = "SELECT series_id, ts_ms, value FROM {points} p ORDER BY series_id, ts_ms"


class RawSource(_Span):
    """Points as they were written."""

    def bucket_stats(self, series: QuerySet[Series], window: Window) -> Iterator[Stats]:
        """Yield (series_id, step, count, sum, min, max) of point values, bucketed in SQL.

        Raw SQL around the ORM's series subquery: the ORM's per-row converters cost more than
        the query itself on hour-long windows of many series.
        """
        stored, params = _stored_points(series, *self.clip(window))
        sql = _BUCKET_STATS_SQL.format(points=stored)
        with connection.cursor() as cursor:
            cursor.execute(sql, [window.start_ms, window.step_ms, *params])
            yield from cursor

    def increases(
        self, series: QuerySet[Series], window: Window, *, cumulative: set[int]
    ) -> Iterator[Increase]:
        """Yield (series_id, ts_ms, increase since the previous sample) of the samples.

        Cumulative series: the sample before the span, up to max(step, 5 min) back, is the
        first one's predecessor; a series without any point before that counts its first
        value from zero (a new counter), one whose earlier points are older has its first
        sample serve as the base only. Other series: the values themselves.
        """
        start_ms, end_ms = self.clip(window)
        from_ms = start_ms - _lookback_ms(window)
        first_ever = _first_ever(series, cumulative, stored_before(from_ms))
        samples = self._samples(series, from_ms, end_ms)
        for series_id, rows in groupby(samples, key=itemgetter(0)):
            pairs = ((ts_ms, value) for _, ts_ms, value in rows)
            if series_id in cumulative:
                found = counter_increases(
                    pairs, from_ms=start_ms, from_zero=series_id in first_ever
                )
            else:
                found = ((ts_ms, value) for ts_ms, value in pairs if ts_ms >= start_ms)
            for ts_ms, increase in found:
                yield series_id, ts_ms, increase

    def histogram_increases(
        self, series: QuerySet[Series], window: Window, *, cumulative: set[int]
    ) -> Iterator[Buckets]:
        """Yield (series_id, ts_ms, bounds, per-bucket increase) of pre-aggregated histograms,
        cumulative ones as for `increases`."""
        start_ms, end_ms = self.clip(window)
        from_ms = start_ms - _lookback_ms(window)
        earlier = HistogramPoint.objects.filter(series_id=OuterRef("id"), ts_ms__lt=from_ms)
        first_ever = _first_ever(series, cumulative, Q(Exists(earlier)))
        rows = self._histograms(series, from_ms, end_ms)
        for series_id, points in groupby(rows, key=itemgetter(0)):
            histograms = ((ts_ms, bounds, counts) for _, ts_ms, bounds, counts in points)
            if series_id in cumulative:
                found = histogram_increases(
                    histograms, from_ms=start_ms, from_zero=series_id in first_ever
                )
            else:
                found = (point for point in histograms if point[0] >= start_ms)
            for ts_ms, bounds, counts in found:
                yield series_id, ts_ms, bounds, counts

    def reported_quantiles(
        self, series: QuerySet[Series], window: Window, *, key: str
    ) -> Iterator[Reported]:
        """Yield (series_id, ts_ms, value, 1) of the summaries reporting quantile `key`."""
        start_ms, end_ms = self.clip(window)
        rows = _in_range(SummaryPoint.objects, series, start_ms, end_ms)
        ordered = rows.order_by("series_id", "ts_ms").values_list("series_id", "ts_ms", "quantiles")
        for series_id, ts_ms, quantiles in ordered.iterator(chunk_size=2_000):
            if key in quantiles:
                yield series_id, ts_ms, quantiles[key], 1

    def samples(self, series: QuerySet[Series], window: Window) -> Iterator[tuple[int, int, float]]:
        """Yield (series_id, ts_ms, value) in series then time order."""
        return self._samples(series, *self.clip(window))

    def sketches(
        self, series: QuerySet[Series], window: Window
    ) -> Iterator[tuple[int, int, Sketch]]:
        """Raw points keep their values: no sketches."""
        return iter(())

    def _samples(
        self, series: QuerySet[Series], from_ms: int, to_ms: int
    ) -> Iterator[tuple[int, int, float]]:
        stored, params = _stored_points(series, from_ms, to_ms)
        with connection.cursor() as cursor:
            cursor.execute(_SAMPLES_SQL.format(points=stored), params)
            while rows := cursor.fetchmany(10_000):
                yield from rows

    def _histograms(
        self, series: QuerySet[Series], from_ms: int, to_ms: int
    ) -> Iterator[tuple[int, int, Layout, list[int]]]:
        """Yield (series_id, ts_ms, bounds, bucket_counts) in series then time order."""
        rows = (
            _in_range(HistogramPoint.objects, series, from_ms, to_ms)
            .annotate(bounds_text=Cast("bounds", TextField()))
            .annotate(counts_text=Cast("bucket_counts", TextField()))
            .order_by("series_id", "ts_ms")
            .values_list("series_id", "ts_ms", "bounds_text", "counts_text")
        )
        layouts: dict[str, Layout] = {}  # most points share a few bucket layouts: parse each once
        for series_id, ts_ms, bounds_text, counts_text in rows.iterator(chunk_size=2_000):
            bounds = layouts.get(bounds_text)
            if bounds is None:
                bounds = layouts[bounds_text] = tuple(orjson.loads(bounds_text))
            yield series_id, ts_ms, bounds, orjson.loads(counts_text)


def _lookback_ms(window: Window) -> int:
    return max(window.step_ms, MIN_LOOKBACK_MS)


def _stored_points(series: QuerySet[Series], from_ms: int, to_ms: int) -> tuple[str, list]:
    """The stored plain points of `series` in [from_ms, to_ms), as SQL and parameters."""
    series_sql, series_params = series.values("id").query.sql_with_params()
    return stored_points_sql(series_sql, series_params, from_ms, to_ms)


def _in_range(manager, series: QuerySet[Series], from_ms: int, to_ms: int) -> QuerySet:
    return manager.filter(series_id__in=series.values("id"), ts_ms__gte=from_ms, ts_ms__lt=to_ms)


def _first_ever(series: QuerySet[Series], cumulative: set[int], earlier: Q) -> set[int]:
    """Return the cumulative series without any `earlier` point (a condition on the series'
    `id`): their first point counts from zero (a new counter's first value is all increase)."""
    if not cumulative:
        return set()
    return cumulative - set(series.filter(earlier).values_list("id", flat=True))


# --- rollups ---------------------------------------------------------------------------------

_ROLLUP_STATS_SQL = (
    "SELECT series_id, (bucket_start_ms - %s) / %s AS bucket, SUM(count), SUM(sum), MIN(min), "
    "MAX(max) FROM {table} WHERE series_id IN ({series}) AND resolution = %s "
    "AND bucket_start_ms >= %s AND bucket_start_ms < %s AND count > 0 GROUP BY series_id, bucket"
)


class RollupSource(_Span):
    """Rollups of one resolution; each counts at the start of its bucket (see rollups.py)."""

    def __init__(self, resolution: str, from_ms: int | None = None, to_ms: int | None = None):
        super().__init__(from_ms, to_ms)
        self.resolution = resolution

    def bucket_stats(self, series: QuerySet[Series], window: Window) -> Iterator[Stats]:
        """Yield (series_id, step, count, sum, min, max) of the raw values, added up in SQL."""
        start_ms, end_ms = self.clip(window)
        series_sql, series_params = series.values("id").query.sql_with_params()
        table = connection.ops.quote_name(Rollup._meta.db_table)
        sql = _ROLLUP_STATS_SQL.format(table=table, series=series_sql)
        params = [window.start_ms, window.step_ms, *series_params, str(self.resolution)]
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, start_ms, end_ms])
            for series_id, bucket, count, total, low, high in cursor:
                yield series_id, bucket, int(count), total, low, high

    def increases(
        self, series: QuerySet[Series], window: Window, *, cumulative: set[int]
    ) -> Iterator[Increase]:
        """Yield (series_id, bucket_start_ms, increase) of the rollups."""
        rows = self._rows(series, window).filter(increase__isnull=False)
        found = rows.values_list("series_id", "bucket_start_ms", "increase")
        return cast(Iterator[Increase], found.iterator())

    def histogram_increases(
        self, series: QuerySet[Series], window: Window, *, cumulative: set[int]
    ) -> Iterator[Buckets]:
        """Yield (series_id, bucket_start_ms, bounds, per-bucket increase) of the rollups."""
        rows = self._rows(series, window).filter(histogram__isnull=False)
        found = rows.values_list("series_id", "bucket_start_ms", "histogram")
        for series_id, start_ms, layouts in cast(Iterator[tuple[int, int, list]], found.iterator()):
            for bounds, counts in layouts:
                yield series_id, start_ms, tuple(bounds), counts

    def reported_quantiles(
        self, series: QuerySet[Series], window: Window, *, key: str
    ) -> Iterator[Reported]:
        """Yield (series_id, bucket_start_ms, sum, count) of the reported quantile `key`."""
        rows = self._rows(series, window).filter(summary__isnull=False)
        found = rows.values_list("series_id", "bucket_start_ms", "summary")
        for series_id, start_ms, summary in cast(Iterator[tuple[int, int, dict]], found.iterator()):
            if key in summary:
                total, count = summary[key]
                yield series_id, start_ms, total, count

    def samples(self, series: QuerySet[Series], window: Window) -> Iterator[tuple[int, int, float]]:
        """Rollups keep no single values: no samples."""
        return iter(())

    def sketches(
        self, series: QuerySet[Series], window: Window
    ) -> Iterator[tuple[int, int, Sketch]]:
        """Yield (series_id, bucket_start_ms, sketch of the raw values) of the rollups."""
        rows = self._rows(series, window).filter(sketch__isnull=False)
        found = rows.values_list("series_id", "bucket_start_ms", "sketch")
        return cast(Iterator[tuple[int, int, Sketch]], found.iterator())

    def _rows(self, series: QuerySet[Series], window: Window) -> QuerySet[Rollup]:
        start_ms, end_ms = self.clip(window)
        return Rollup.objects.filter(
            series_id__in=series.values("id"),
            resolution=self.resolution,
            bucket_start_ms__gte=start_ms,
            bucket_start_ms__lt=end_ms,
        )


# --- choosing ---------------------------------------------------------------------------------

Part = RawSource | RollupSource


class Sources:
    """The sources answering one window, oldest span first; each read chains theirs."""

    def __init__(self, window: Window, parts: list[Part]) -> None:
        self.window = window
        self.parts = parts

    def bucket_stats(self, series: QuerySet[Series], window: Window) -> Iterator[Stats]:
        return chain.from_iterable(part.bucket_stats(series, window) for part in self.parts)

    def increases(
        self, series: QuerySet[Series], window: Window, *, cumulative: set[int]
    ) -> Iterator[Increase]:
        return chain.from_iterable(
            part.increases(series, window, cumulative=cumulative) for part in self.parts
        )

    def histogram_increases(
        self, series: QuerySet[Series], window: Window, *, cumulative: set[int]
    ) -> Iterator[Buckets]:
        return chain.from_iterable(
            part.histogram_increases(series, window, cumulative=cumulative) for part in self.parts
        )

    def reported_quantiles(
        self, series: QuerySet[Series], window: Window, *, key: str
    ) -> Iterator[Reported]:
        return chain.from_iterable(
            part.reported_quantiles(series, window, key=key) for part in self.parts
        )

    def samples(self, series: QuerySet[Series], window: Window) -> Iterator[tuple[int, int, float]]:
        return chain.from_iterable(part.samples(series, window) for part in self.parts)

    def sketches(
        self, series: QuerySet[Series], window: Window
    ) -> Iterator[tuple[int, int, Sketch]]:
        return chain.from_iterable(part.sketches(series, window) for part in self.parts)


def source_for(window: Window, *, now_ms: int | None = None) -> Sources:
    """Choose what answers `window`: raw points, or rollups then raw points after them."""
    now_ms = round(time.time() * 1000) if now_ms is None else now_ms
    range_ms = window.end_ms - window.start_ms
    if range_ms <= RAW_QUERY_MAX_RANGE_MS and _retained("metrics.raw", window.start_ms, now_ms):
        return Sources(window, [RawSource()])
    if range_ms <= HOURLY_QUERY_MAX_RANGE_MS and _retained(
        "metrics.hourly", window.start_ms, now_ms
    ):
        tiers = [Resolution.HOUR]
    else:
        tiers = [Resolution.DAY, Resolution.HOUR]
    return _tiered(
        window, tiers, dict(RollupState.objects.values_list("resolution", "watermark_ms"))
    )


def _retained(key: str, start_ms: int, now_ms: int) -> bool:
    days = retention_days(key)
    return days is None or start_ms >= now_ms - days * DAY_MS


def _tiered(window: Window, tiers: Sequence[str], watermarks: dict[str, int]) -> Sources:
    """Cut the window into the spans of the tiers (coarsest first) and the raw points after;
    on the grid of the coarsest tier that has rollups in the window."""
    for index, resolution in enumerate(tiers):
        size_ms = RESOLUTION_MS[resolution]
        start_ms = window.start_ms // size_ms * size_ms
        if watermarks.get(resolution, start_ms) > start_ms:
            step_ms = math.ceil(window.step_ms / size_ms) * size_ms
            grid = Window(start_ms, window.end_ms, step_ms)
            return Sources(grid, _spans(grid, tiers[index:], watermarks))
    return Sources(window, [RawSource()])


def _spans(window: Window, tiers: Sequence[str], watermarks: dict[str, int]) -> list[Part]:
    parts: list[Part] = []
    from_ms = window.start_ms
    for resolution in tiers:
        to_ms = min(window.end_ms, watermarks.get(resolution, from_ms))
        if to_ms > from_ms:
            parts.append(RollupSource(resolution, from_ms, to_ms))
            from_ms = to_ms
    if from_ms < window.end_ms:
        parts.append(RawSource(from_ms=from_ms))
    return parts
