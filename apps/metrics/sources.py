"""Where a range query reads its numbers from.

Today every query reads the raw point tables. `source_for` is the one place that chooses: when
hourly and daily rollup tables exist, it returns a source reading them for long ranges or
coarse steps, with the same methods, and nothing else in the query path changes.
"""

from collections.abc import Iterator
from dataclasses import dataclass

import orjson
from django.db import connection
from django.db.models import Exists, OuterRef, QuerySet, TextField
from django.db.models.functions import Cast

from apps.metrics.aggregation import Layout
from apps.metrics.models import HistogramPoint, Point, Series, SummaryPoint


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


# The table name and the ORM-compiled series subquery are formatted in; values are parameters.
_BUCKET_STATS_SQL = (
    "SELECT series_id, (ts_ms - %s) / %s AS bucket, COUNT(value), SUM(value), MIN(value), "
    "MAX(value) FROM {table} WHERE series_id IN ({series}) AND ts_ms >= %s AND ts_ms < %s "
    "GROUP BY series_id, bucket"
)


class RawSource:
    """Points as they were written."""

    def bucket_stats(self, series: QuerySet[Series], window: Window) -> Iterator[tuple]:
        """Yield (series_id, bucket, count, sum, min, max) of point values, bucketed in SQL.

        Raw SQL around the ORM's series subquery: the ORM's per-row converters cost more than
        the query itself on hour-long windows of many series.
        """
        series_sql, series_params = series.values("id").query.sql_with_params()
        table = connection.ops.quote_name(Point._meta.db_table)
        sql = _BUCKET_STATS_SQL.format(table=table, series=series_sql)
        params = [window.start_ms, window.step_ms, *series_params, window.start_ms, window.end_ms]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            yield from cursor

    def samples(
        self, series: QuerySet[Series], window: Window, *, lookback_ms: int = 0
    ) -> Iterator[tuple[int, int, float]]:
        """Yield (series_id, ts_ms, value) in series then time order, from lookback before."""
        rows = _in_window(Point.objects, series, window.start_ms - lookback_ms, window.end_ms)
        ordered = rows.order_by("series_id", "ts_ms").values_list("series_id", "ts_ms", "value")
        return ordered.iterator(chunk_size=10_000)

    def histograms(
        self, series: QuerySet[Series], window: Window, *, lookback_ms: int = 0
    ) -> Iterator[tuple[int, int, Layout, list[int]]]:
        """Yield (series_id, ts_ms, bounds, bucket_counts) in series then time order."""
        from_ms = window.start_ms - lookback_ms
        rows = (
            _in_window(HistogramPoint.objects, series, from_ms, window.end_ms)
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

    def with_earlier_points(
        self, series: QuerySet[Series], before_ms: int, *, histograms: bool = False
    ) -> set[int]:
        """Return the ids of the series with a (histogram) point before `before_ms`."""
        model = HistogramPoint if histograms else Point
        earlier = model.objects.filter(series_id=OuterRef("id"), ts_ms__lt=before_ms)
        return set(series.filter(Exists(earlier)).values_list("id", flat=True))

    def summaries(
        self, series: QuerySet[Series], window: Window
    ) -> Iterator[tuple[int, int, dict[str, float]]]:
        """Yield (series_id, ts_ms, quantiles) in series then time order."""
        rows = _in_window(SummaryPoint.objects, series, window.start_ms, window.end_ms)
        ordered = rows.order_by("series_id", "ts_ms").values_list("series_id", "ts_ms", "quantiles")
        return ordered.iterator(chunk_size=2_000)


def _in_window(manager, series: QuerySet[Series], from_ms: int, to_ms: int) -> QuerySet:
    return manager.filter(series_id__in=series.values("id"), ts_ms__gte=from_ms, ts_ms__lt=to_ms)


def source_for(window: Window) -> RawSource:
    """Choose the table a query reads: the raw points (rollups will answer long ranges)."""
    return RawSource()
