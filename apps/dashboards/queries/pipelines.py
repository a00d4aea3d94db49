"""Reads for the pipelines page: Agent Forge runs (traces whose root span carries pipeline.name)
with their phase_* spans, the metrics labelled by pipeline, and the P2P routing metrics.

Runs are found from the trace summaries of the range (indexed by start) whose root span, looked
up by its unique (trace_id, span_id), has the attribute: one statement with a LIMIT.
"""

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from itertools import islice

from django.db.models import OuterRef, Subquery
from django.db.models.fields.json import KeyTextTransform

from apps.metrics import selectors as metric_selectors
from apps.metrics.aggregation import Sketch, sketch_add, slot_upper_bound, value_slot
from apps.metrics.constants import MetricType, Temporality
from apps.metrics.models import HistogramPoint, Series
from apps.metrics.sources import source_for
from apps.traces.constants import ERROR_STATUSES
from apps.traces.models import Span, TraceSummary

PIPELINE_ATTRIBUTE = "pipeline.name"
PHASE_PREFIX = "phase_"
MAX_RUNS = 100
MAX_PIPELINES = 50
MAX_PHASE_SPANS = 2_000
MAX_METRICS = 8
MAX_BUCKETS = 40
MAX_HISTOGRAM_SERIES = 200
MAX_DELTA_POINTS = 2_000
MAX_RAW_SAMPLES = 100_000
MAX_SKETCHES = 2_000  # rollups of the metric's series: e.g. 200 series over 10 days
NS_PER_MS = 1_000_000


@dataclass(slots=True)
class Phase:
    name: str  # without the phase_ prefix
    duration_ms: float
    failed: bool
    offset_pct: float = 0.0  # where it starts within the run, for the bar
    width_pct: float = 0.0


@dataclass(slots=True)
class Run:
    trace_id: str
    pipeline: str
    service: str
    start_ns: int
    duration_ms: float
    span_count: int
    error_count: int
    phases: list[Phase] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return self.error_count > 0

    @property
    def start_s(self) -> float:
        return self.start_ns / 1e9


@dataclass(slots=True)
class PhaseStats:
    pipeline: str
    phase: str
    runs: int = 0
    failures: int = 0
    total_ms: float = 0.0
    max_ms: float = 0.0

    @property
    def avg_ms(self) -> float:
        return self.total_ms / self.runs if self.runs else 0.0


def _runs_in(start_ns: int, end_ns: int):
    root = Span.objects.filter(
        trace_id=OuterRef("trace_id"), span_id=OuterRef("root_span_id")
    ).annotate(pipeline=KeyTextTransform(PIPELINE_ATTRIBUTE, "attributes"))
    return (
        TraceSummary.objects.filter(start_ns__gte=start_ns, start_ns__lt=end_ns)
        .annotate(pipeline=Subquery(root.values("pipeline")[:1]))
        .filter(pipeline__isnull=False)
    )


def pipeline_name_list(*, start_ns: int, end_ns: int) -> list[str]:
    """Return the names of the pipelines that ran in [start, end)."""
    names = _runs_in(start_ns, end_ns).values_list("pipeline", flat=True).distinct()
    return list(names.order_by("pipeline")[:MAX_PIPELINES])


def pipeline_run_list(
    *, start_ns: int, end_ns: int, pipeline: str | None = None, limit: int = MAX_RUNS
) -> list[Run]:
    """Return the newest pipeline runs started in [start, end), optionally of one pipeline."""
    runs = _runs_in(start_ns, end_ns)
    if pipeline:
        runs = runs.filter(pipeline=pipeline)
    rows = runs.order_by("-start_ns", "-trace_id").values_list(
        "trace_id",
        "pipeline",
        "root_service",
        "start_ns",
        "duration_ms",
        "span_count",
        "error_count",
    )[:limit]
    return [Run(*row) for row in rows]


def phases_attach(runs: list[Run]) -> None:
    """Give each run its phase_* spans, in order of start, placed within the run's span."""
    by_trace = {run.trace_id: run for run in runs}
    spans = (
        Span.objects.filter(trace_id__in=list(by_trace), name__startswith=PHASE_PREFIX)
        .order_by("trace_id", "start_ns")
        .values_list("trace_id", "name", "start_ns", "duration_ms", "status")[:MAX_PHASE_SPANS]
    )
    for trace_id, name, start_ns, duration_ms, status in spans:
        run = by_trace[trace_id]
        total_ms = run.duration_ms or 1.0
        offset_ms = max(0.0, (start_ns - run.start_ns) / NS_PER_MS)
        run.phases.append(
            Phase(
                name=name[len(PHASE_PREFIX) :],
                duration_ms=duration_ms,
                failed=status in ERROR_STATUSES,
                offset_pct=round(min(100.0, 100 * offset_ms / total_ms), 2),
                width_pct=round(max(0.5, min(100.0, 100 * duration_ms / total_ms)), 2),
            )
        )


def phase_stats(runs: list[Run]) -> list[PhaseStats]:
    """Return, per pipeline and phase, how many runs had it, its failures, mean and max time."""
    stats: dict[tuple[str, str], PhaseStats] = {}
    for run in runs:
        for phase in run.phases:
            key = (run.pipeline, phase.name)
            found = stats.setdefault(key, PhaseStats(run.pipeline, phase.name))
            found.runs += 1
            found.failures += phase.failed
            found.total_ms += phase.duration_ms
            found.max_ms = max(found.max_ms, phase.duration_ms)
    return sorted(stats.values(), key=lambda each: (each.pipeline, -each.avg_ms))


def duration_lines(runs: list[Run]) -> list[dict]:
    """Return each pipeline's run durations (seconds) by start time, as chart lines."""
    lines: dict[str, list] = defaultdict(list)
    for run in sorted(runs, key=lambda each: each.start_ns):
        lines[run.pipeline].append([run.start_s, round(run.duration_ms / 1000, 6)])
    return [{"label": name, "points": points} for name, points in sorted(lines.items())]


def pipeline_metric_names() -> list[str]:
    """Return the names of metrics (other than p2p_*) whose series carry a pipeline label."""
    names = (
        Series.objects.filter(labels_text__contains='"pipeline":')
        .exclude(name__startswith="p2p_")
        .values_list("name", flat=True)
        .distinct()
        .order_by("name")
    )
    return list(names[:MAX_METRICS])


def p2p_metric_list() -> list[tuple[str, str]]:
    """Return the p2p_* metric names with their type."""
    rows = (
        Series.objects.filter(name__startswith="p2p_")
        .values_list("name", "type")
        .distinct()
        .order_by("name")
    )
    return list(rows[:MAX_METRICS])


def histogram_buckets(*, name: str, start_ms: int, end_ms: int) -> list[tuple[str, float]]:
    """Return how many observations of the metric fell in each bucket over [start, end):
    pre-aggregated histograms by upper bound (cumulative ones: the increase over the range),
    raw observations by value."""
    counts: dict[float, float] = defaultdict(float)
    _histogram_increases(counts, name, start_ms, end_ms)
    raw = _raw_observation_counts(name, start_ms, end_ms)
    for value, observed in raw:
        counts[value] += observed
    return [(_bound(bound), counts[bound]) for bound in sorted(counts)][:MAX_BUCKETS]


def _raw_observation_counts(name: str, start_ms: int, end_ms: int) -> list[tuple[float, int]]:
    """Count single observations (native ingest) by value, reading at most MAX_RAW_SAMPLES
    through the metrics app's point sources. Rollups keep no single values but log-bucket
    sketches of them: a range read (partly) from rollups counts every observation in those
    buckets, by upper bound."""
    series = Series.objects.filter(name=name, type=MetricType.HISTOGRAM)
    window = metric_selectors.metric_window(start_s=start_ms / 1000, end_s=end_ms / 1000)
    source = source_for(window)
    samples = islice(source.samples(series, source.window), MAX_RAW_SAMPLES)
    counted = Counter(value for _series_id, _ts_ms, value in samples)
    sketch: Sketch = {}
    for _series_id, _bucket_ms, part in islice(
        source.sketches(series, source.window), MAX_SKETCHES
    ):
        sketch_add(sketch, part)
    if sketch:
        raw: Counter[int] = Counter()
        for value, count in counted.items():
            raw[value_slot(value)] += count
        sketch_add(sketch, raw)
        counted = Counter({slot_upper_bound(slot): count for slot, count in sketch.items()})
    return sorted(counted.items())[:MAX_BUCKETS]


def _bound(bound: float) -> str:
    return "+Inf" if bound == float("inf") else f"{bound:g}"


def _histogram_increases(counts: dict[float, float], name: str, start_ms: int, end_ms: int) -> None:
    in_range = HistogramPoint.objects.filter(
        series=OuterRef("pk"), ts_ms__gte=start_ms, ts_ms__lt=end_ms
    ).order_by("-ts_ms")
    before = HistogramPoint.objects.filter(series=OuterRef("pk"), ts_ms__lt=start_ms).order_by(
        "-ts_ms"
    )
    series = (
        Series.objects.filter(name=name, type=MetricType.HISTOGRAM)
        .annotate(last=Subquery(in_range.values("pk")[:1]), base=Subquery(before.values("pk")[:1]))
        .values_list("pk", "temporality", "last", "base")[:MAX_HISTOGRAM_SERIES]
    )
    rows = list(series)
    cumulative = [
        (last, base)
        for _, temporality, last, base in rows
        if temporality == Temporality.CUMULATIVE and last is not None
    ]
    delta_ids = [
        pk
        for pk, temporality, last, _ in rows
        if temporality == Temporality.DELTA and last is not None
    ]
    wanted = {pk for pair in cumulative for pk in pair if pk is not None}
    points = {
        pk: (bounds, buckets)
        for pk, bounds, buckets in HistogramPoint.objects.filter(pk__in=wanted).values_list(
            "pk", "bounds", "bucket_counts"
        )
    }
    for last, base in cumulative:
        bounds, latest = points[last]
        earlier = points.get(base) if base is not None else None
        increase = latest
        if (
            earlier is not None
            and earlier[0] == bounds
            and all(now >= then for now, then in zip(latest, earlier[1], strict=True))
        ):  # a drop is a reset: then the latest counts are the increase
            increase = [now - then for now, then in zip(latest, earlier[1], strict=True)]
        _add(counts, bounds, increase)
    deltas = HistogramPoint.objects.filter(
        series_id__in=delta_ids, ts_ms__gte=start_ms, ts_ms__lt=end_ms
    ).values_list("bounds", "bucket_counts")[:MAX_DELTA_POINTS]
    for bounds, buckets in deltas:
        _add(counts, bounds, buckets)


def _add(counts: dict[float, float], bounds: list[float], buckets: list[float]) -> None:
    for bound, count in zip([*bounds, float("inf")], buckets, strict=False):
        counts[float(bound)] += count
