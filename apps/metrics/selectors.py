"""Reading metrics: the series list and range queries with step aggregation.

Query semantics (GET /api/v1/metrics/query):
- The window [start, end) is cut into steps aligned on `start`; a point at ts falls in the step
  starting at start + step·⌊(ts − start) / step⌋, and that start (epoch seconds) is its `t`.
  Steps without data are left out, and so are series without any point in the window.
- avg, min, max, sum, count: over the raw values of each step, bucketed in SQL. With
  `group_by`, series are merged before aggregating (the avg of a group weights every point).
- rate: per-second increase within each step. Cumulative series: the sum of the increases
  between consecutive samples (a drop is a reset, the new value being the increase), divided
  by the step. The sample before the window, up to max(step, 5 min) back, is the first one's
  predecessor; a series with no point at all before that has its first value count from zero
  (a new counter); one whose earlier points are older has its first sample serve as the base
  only. Delta series: the sum of the values, divided by the step. A group's rate is the sum
  of its series' rates.
- p50, p90, p95, p99: from histogram buckets where the series has pre-aggregated histogram
  points (per-bucket increases over the step, cumulative ones as for rate, merged across the
  group — by upper bound where bucket layouts differ — then Prometheus' histogram_quantile);
  else from summary quantiles (the mean of the matching reported quantile over the step); else
  from raw values (linear interpolation between closest ranks, as numpy's default and
  statistics.quantiles(method="inclusive")).
"""

import math
import time
from collections import defaultdict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from itertools import groupby
from operator import itemgetter
from statistics import fmean

import orjson
from django.conf import settings
from django.db.models import QuerySet, Value
from django.db.models.functions import StrIndex

from apps.metrics.aggregation import (
    HistogramSum,
    counter_increases,
    histogram_increases,
    quantile_from_values,
)
from apps.metrics.constants import (
    AGGS,
    DEFAULT_AGG,
    DEFAULT_POINTS_PER_SERIES,
    DEFAULT_QUERY_MAX_SERIES,
    DEFAULT_RANGE_S,
    MAX_POINTS_PER_SERIES,
    MIN_LOOKBACK_MS,
    MIN_STEP_S,
    PERCENTILE_AGGS,
    STAT_AGGS,
    MetricType,
    Temporality,
)
from apps.metrics.models import Series
from apps.metrics.sources import RawSource, Window, source_for

GroupValues = dict[Hashable, dict[int, float]]  # group → step bucket → value


class QueryError(ValueError):
    """A query that cannot be answered as asked; `field` names the parameter at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class MetricQuery:
    name: str
    window: Window
    agg: str = DEFAULT_AGG
    service: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    group_by: str | None = None


@dataclass(slots=True)
class QueriedSeries:
    name: str
    service: str
    labels: dict[str, str]
    points: list[tuple[float, float]]


@dataclass(frozen=True, slots=True)
class _Member:
    """A series the query matched, and the group it is merged into."""

    id: int
    service: str
    labels: dict[str, str]
    type: str
    temporality: str
    group: Hashable


def series_list(
    *, name: str | None = None, service: str | None = None, labels: dict[str, str] | None = None
) -> QuerySet[Series]:
    """Return the series of a metric name, service and exact label values, oldest first."""
    series = Series.objects.order_by("id")
    if name:
        series = series.filter(name=name)
    if service:
        series = series.filter(service=service)
    for index, (key, value) in enumerate(sorted((labels or {}).items())):
        # labels_text is canonical JSON, so `"key":"value"` occurs in it exactly when the
        # series has that label (quotes inside keys and values are escaped): one portable
        # case-sensitive substring test (instr on SQLite, strpos on PostgreSQL).
        pattern = f"{orjson.dumps(key).decode()}:{orjson.dumps(value).decode()}"
        alias = f"label_match_{index}"
        series = series.alias(**{alias: StrIndex("labels_text", Value(pattern))})
        series = series.filter(**{f"{alias}__gt": 0})
    return series


def metric_window(
    *, start_s: float | None = None, end_s: float | None = None, step_s: float | None = None
) -> Window:
    """Return the query window: end defaults to now, start to an hour before end, step to
    about 300 points; refuse start after end, a step under 1 s and over 11,000 points."""
    end_s = time.time() if end_s is None else end_s
    start_s = end_s - DEFAULT_RANGE_S if start_s is None else start_s
    for field_name, value in (("start", start_s), ("end", end_s), ("step", step_s or 1)):
        if not math.isfinite(value):
            raise QueryError(field_name, f"{field_name} must be a finite number.")
    if start_s > end_s:
        raise QueryError("start", "start must not be after end.")
    start_ms, end_ms = round(start_s * 1000), round(end_s * 1000)
    if step_s is None:
        per_point_s = (end_ms - start_ms) / DEFAULT_POINTS_PER_SERIES / 1000
        step_ms = 1000 * max(MIN_STEP_S, math.ceil(per_point_s))
    elif step_s < MIN_STEP_S:
        raise QueryError("step", f"step must be at least {MIN_STEP_S} second.")
    else:
        step_ms = round(step_s * 1000)
    points = math.ceil((end_ms - start_ms) / step_ms)
    if points > MAX_POINTS_PER_SERIES:
        raise QueryError(
            "step",
            f"{points} points per series is more than {MAX_POINTS_PER_SERIES}: "
            "raise step or shorten the range.",
        )
    return Window(start_ms, end_ms, step_ms)


def metric_query(*, query: MetricQuery) -> list[QueriedSeries]:
    """Answer a range query: one aggregated series per matched series, or per group_by value."""
    series = series_list(name=query.name, service=query.service, labels=query.labels)
    members = _members(series, query.group_by)
    if not members:
        return []
    source = source_for(query.window)
    values = _aggregator(query.agg)(source, series, members, query)
    return _answer(query, members, values)


def _members(series: QuerySet[Series], group_by: str | None) -> dict[int, _Member]:
    rows = series.values_list("id", "service", "labels", "type", "temporality")
    return {
        id_: _Member(id_, service, labels, type_, temporality, _group(id_, labels, group_by))
        for id_, service, labels, type_, temporality in rows
    }


def _group(series_id: int, labels: dict[str, str], group_by: str | None) -> Hashable:
    return series_id if group_by is None else labels.get(group_by, "")


def _aggregator(agg: str) -> Callable[..., GroupValues]:
    if agg in STAT_AGGS:
        return _stats
    if agg == "rate":
        return _rate
    if agg in PERCENTILE_AGGS:
        return _percentile
    raise QueryError("agg", f"agg must be one of {', '.join(AGGS)}.")


# --- avg, min, max, sum, count: bucketed in SQL, merged per group here ------------------------

_FINISH: dict[str, Callable[[list], float]] = {
    "avg": lambda stats: stats[1] / stats[0],
    "min": itemgetter(2),
    "max": itemgetter(3),
    "sum": itemgetter(1),
    "count": itemgetter(0),
}


def _stats(
    source: RawSource, series: QuerySet[Series], members: dict[int, _Member], query: MetricQuery
) -> GroupValues:
    merged: dict[Hashable, dict[int, list]] = defaultdict(dict)
    for series_id, bucket, count, total, low, high in source.bucket_stats(series, query.window):
        member = members.get(series_id)
        if member is None or not count:  # a series created after the members were read
            continue
        stats = merged[member.group].get(bucket)
        if stats is None:
            merged[member.group][bucket] = [count, total, low, high]
        else:
            stats[:] = [stats[0] + count, stats[1] + total, min(stats[2], low), max(stats[3], high)]
    finish = _FINISH[query.agg]
    return {
        group: {bucket: finish(stats) for bucket, stats in buckets.items()}
        for group, buckets in merged.items()
    }


# --- rate ------------------------------------------------------------------------------------


def _lookback_ms(window: Window) -> int:
    return max(window.step_ms, MIN_LOOKBACK_MS)


def _first_ever(
    source: RawSource,
    series: QuerySet[Series],
    members: dict[int, _Member],
    window: Window,
    *,
    histograms: bool = False,
) -> set[int]:
    """Return the cumulative series without any point before the fetched range: their first
    point counts from zero (a new counter's first value is all increase)."""
    cumulative = {m.id for m in members.values() if m.temporality == Temporality.CUMULATIVE}
    if not cumulative:
        return set()
    from_ms = window.start_ms - _lookback_ms(window)
    return cumulative - source.with_earlier_points(series, from_ms, histograms=histograms)


def _rate(
    source: RawSource, series: QuerySet[Series], members: dict[int, _Member], query: MetricQuery
) -> GroupValues:
    window = query.window
    first_ever = _first_ever(source, series, members, window)
    increases: dict[Hashable, dict[int, float]] = defaultdict(lambda: defaultdict(float))
    samples = source.samples(series, window, lookback_ms=_lookback_ms(window))
    for series_id, rows in groupby(samples, key=itemgetter(0)):
        member = members.get(series_id)
        if member is None:
            continue
        buckets = increases[member.group]
        pairs = ((ts, value) for _, ts, value in rows)
        for ts_ms, increase in _increases(member, pairs, window, series_id in first_ever):
            buckets[window.bucket(ts_ms)] += increase
    return {
        group: {bucket: total / window.step_s for bucket, total in buckets.items()}
        for group, buckets in increases.items()
    }


def _increases(member: _Member, samples, window: Window, from_zero: bool):
    if member.temporality == Temporality.DELTA:
        return ((ts, value) for ts, value in samples if ts >= window.start_ms)
    return counter_increases(samples, from_ms=window.start_ms, from_zero=from_zero)


# --- percentiles -----------------------------------------------------------------------------


@dataclass(slots=True)
class _Observations:
    """What one group holds in one step to compute a quantile from, best first."""

    buckets: HistogramSum | None = None
    reported: list[float] = field(default_factory=list)  # summary quantile values
    values: list[float] = field(default_factory=list)  # raw values

    def quantile(self, q: float) -> float | None:
        if self.buckets is not None:
            return self.buckets.quantile(q)
        if self.reported:
            return fmean(self.reported)
        return quantile_from_values(q, self.values)


def _percentile(
    source: RawSource, series: QuerySet[Series], members: dict[int, _Member], query: MetricQuery
) -> GroupValues:
    q = PERCENTILE_AGGS[query.agg]
    observed: dict[Hashable, dict[int, _Observations]] = defaultdict(
        lambda: defaultdict(_Observations)
    )
    types = {member.type for member in members.values()}
    bucketed: set[int] = set()
    if MetricType.HISTOGRAM in types:
        bucketed = _collect_histograms(source, series, members, query.window, observed)
    if MetricType.SUMMARY in types:
        _collect_summaries(source, series, members, query.window, observed, q)
    if types - {MetricType.SUMMARY}:
        _collect_values(source, series, members, query.window, observed, skip=bucketed)
    answer: GroupValues = {}
    for group, steps in observed.items():
        quantiles = {bucket: obs.quantile(q) for bucket, obs in steps.items()}
        answer[group] = {bucket: value for bucket, value in quantiles.items() if value is not None}
    return answer


def _collect_histograms(source, series, members, window: Window, observed) -> set[int]:
    """Merge each step's per-bucket increases into the groups; return the series that had any."""
    bucketed = set()
    first_ever = _first_ever(source, series, members, window, histograms=True)
    rows = source.histograms(series, window, lookback_ms=_lookback_ms(window))
    for series_id, points in groupby(rows, key=itemgetter(0)):
        member = members.get(series_id)
        if member is None:
            continue
        steps = observed[member.group]
        increases = _histogram_increases(member, points, window, series_id in first_ever)
        for ts_ms, bounds, counts in increases:
            bucketed.add(series_id)
            step = steps[window.bucket(ts_ms)]
            if step.buckets is None:
                step.buckets = HistogramSum()
            step.buckets.add(bounds, counts)
    return bucketed


def _histogram_increases(member: _Member, points, window: Window, from_zero: bool):
    histograms = ((ts, bounds, counts) for _, ts, bounds, counts in points)
    if member.temporality == Temporality.DELTA:
        return (point for point in histograms if point[0] >= window.start_ms)
    return histogram_increases(histograms, from_ms=window.start_ms, from_zero=from_zero)


def _collect_summaries(source, series, members, window: Window, observed, q: float) -> None:
    key = format(q, "g")
    for series_id, ts_ms, quantiles in source.summaries(series, window):
        member = members.get(series_id)
        if member is not None and key in quantiles:
            observed[member.group][window.bucket(ts_ms)].reported.append(quantiles[key])


def _collect_values(source, series, members, window: Window, observed, skip: set[int]) -> None:
    for series_id, ts_ms, value in source.samples(series, window):
        member = members.get(series_id)
        if member is not None and series_id not in skip:
            observed[member.group][window.bucket(ts_ms)].values.append(value)


# --- the answer ------------------------------------------------------------------------------


def _answer(
    query: MetricQuery, members: dict[int, _Member], values: GroupValues
) -> list[QueriedSeries]:
    """Turn group values into series, leaving out empty ones; refuse more than the maximum."""
    limit = getattr(settings, "AIVMON_METRICS_QUERY_MAX_SERIES", DEFAULT_QUERY_MAX_SERIES)
    described = _describe_groups(query, members)
    answer = []
    for group, buckets in values.items():
        points = [
            (query.window.bucket_start_s(bucket), value)
            for bucket, value in sorted(buckets.items())
            if math.isfinite(value)  # a sum of huge values may overflow
        ]
        if points:
            service, labels = described[group]
            answer.append(QueriedSeries(query.name, service, labels, points))
    if len(answer) > limit:
        raise QueryError(
            "group_by",
            f"the query answers {len(answer)} series, more than {limit}: "
            "filter by service or labels, or merge series with group_by.",
        )
    answer.sort(key=lambda each: (each.service, sorted(each.labels.items())))
    return answer


def _describe_groups(
    query: MetricQuery, members: dict[int, _Member]
) -> dict[Hashable, tuple[str, dict[str, str]]]:
    """Return the service and labels shown for each group."""
    if query.group_by is None:
        return {member.group: (member.service, member.labels) for member in members.values()}
    services: dict[Hashable, set[str]] = defaultdict(set)
    for member in members.values():
        services[member.group].add(member.service)
    return {
        group: (next(iter(names)) if len(names) == 1 else "", {query.group_by: str(group)})
        for group, names in services.items()
    }
