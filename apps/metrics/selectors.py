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

Long ranges read rollups (sources.py says which, rollups.py what they hold). Over them the
steps are whole hours (days) from the start of the first one, and:
- avg = Σsum / Σcount, min, max, sum and count of the rollups' raw-value statistics: exact.
- rate: the rollups' increases divided by the step (each increase counted in the step holding
  its bucket's start); a counter's first value after a gap counts against its last one before.
- percentiles: histogram buckets and summary quantiles as above, from the rollups' merged
  increases and sums; raw values from the rollups' log-bucket sketches (2^(1/8) wide buckets,
  an answer within ~9 % of the exact one).
"""

import math
import time
from collections import defaultdict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field, replace
from datetime import datetime
from operator import itemgetter

import orjson
from django.conf import settings
from django.db.models import Max, QuerySet, Value
from django.db.models.functions import StrIndex

from apps.metrics.aggregation import (
    HistogramSum,
    Sketch,
    quantile_from_values,
    sketch_add,
    sketch_quantile,
    value_slot,
)
from apps.metrics.constants import (
    AGGS,
    DEFAULT_AGG,
    DEFAULT_POINTS_PER_SERIES,
    DEFAULT_QUERY_MAX_SERIES,
    DEFAULT_RANGE_S,
    MAX_POINTS_PER_SERIES,
    MIN_STEP_S,
    PERCENTILE_AGGS,
    STAT_AGGS,
    MetricType,
    Temporality,
)
from apps.metrics.models import Series
from apps.metrics.sources import Sources, Window, source_for

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
    query = replace(query, window=source.window)  # rollups answer on a grid of whole buckets
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
    source: Sources, series: QuerySet[Series], members: dict[int, _Member], query: MetricQuery
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


def _cumulative(members: dict[int, _Member]) -> set[int]:
    return {m.id for m in members.values() if m.temporality == Temporality.CUMULATIVE}


def _rate(
    source: Sources, series: QuerySet[Series], members: dict[int, _Member], query: MetricQuery
) -> GroupValues:
    window = query.window
    increases: dict[Hashable, dict[int, float]] = defaultdict(lambda: defaultdict(float))
    found = source.increases(series, window, cumulative=_cumulative(members))
    for series_id, ts_ms, increase in found:
        member = members.get(series_id)
        if member is not None:  # None: a series created after the members were read
            increases[member.group][window.bucket(ts_ms)] += increase
    return {
        group: {bucket: total / window.step_s for bucket, total in buckets.items()}
        for group, buckets in increases.items()
    }


# --- percentiles -----------------------------------------------------------------------------


@dataclass(slots=True)
class _Observations:
    """What one group holds in one step to compute a quantile from, best first."""

    buckets: HistogramSum | None = None
    reported: list[tuple[float, int]] = field(default_factory=list)  # (sum, count) of a quantile
    values: list[float] = field(default_factory=list)  # raw values
    sketch: Sketch | None = None  # raw values counted in log buckets (rollups)

    def quantile(self, q: float) -> float | None:
        if self.buckets is not None:
            return self.buckets.quantile(q)
        if self.reported:
            return math.fsum(total for total, _ in self.reported) / sum(
                count for _, count in self.reported
            )
        if self.sketch is not None:  # raw values after the rollups join their sketch
            return sketch_quantile(q, sketch_add(self.sketch, _counted(self.values)))
        return quantile_from_values(q, self.values)


def _counted(values: list[float]) -> Sketch:
    sketch: Sketch = {}
    for value in values:
        slot = value_slot(value)
        sketch[slot] = sketch.get(slot, 0) + 1
    return sketch


def _percentile(
    source: Sources, series: QuerySet[Series], members: dict[int, _Member], query: MetricQuery
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
    found = source.histogram_increases(series, window, cumulative=_cumulative(members))
    for series_id, ts_ms, bounds, counts in found:
        member = members.get(series_id)
        if member is None:
            continue
        bucketed.add(series_id)
        step = observed[member.group][window.bucket(ts_ms)]
        if step.buckets is None:
            step.buckets = HistogramSum()
        step.buckets.add(bounds, counts)
    return bucketed


def _collect_summaries(source, series, members, window: Window, observed, q: float) -> None:
    found = source.reported_quantiles(series, window, key=format(q, "g"))
    for series_id, ts_ms, total, count in found:
        member = members.get(series_id)
        if member is not None:
            observed[member.group][window.bucket(ts_ms)].reported.append((total, count))


def _collect_values(source, series, members, window: Window, observed, skip: set[int]) -> None:
    for series_id, ts_ms, value in source.samples(series, window):
        member = members.get(series_id)
        if member is not None and series_id not in skip:
            observed[member.group][window.bucket(ts_ms)].values.append(value)
    for series_id, ts_ms, sketch in source.sketches(series, window):
        member = members.get(series_id)
        if member is not None and series_id not in skip:
            step = observed[member.group][window.bucket(ts_ms)]
            step.sketch = sketch_add(step.sketch if step.sketch is not None else {}, sketch)


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


def series_last_seen(*, name: str | None = None, service: str | None = None) -> datetime | None:
    """Return when any series of the metric name and/or service last had data (None: never).

    last_seen is written at most once a minute per series: absence is known to within a minute.
    """
    return series_list(name=name, service=service).aggregate(last=Max("last_seen"))["last"]


def service_last_seen_list(*, since: datetime | None = None) -> dict[str, datetime]:
    """Return, per service, when any of its series last had data (those seen since `since`)."""
    series = Series.objects.all() if since is None else Series.objects.filter(last_seen__gte=since)
    rows = series.values("service").annotate(last=Max("last_seen")).values_list("service", "last")
    return dict(rows.order_by("service"))
