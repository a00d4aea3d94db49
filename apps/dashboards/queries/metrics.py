"""Reads for the metric explorer: metric names, percentile lines, resource trends and a capacity
projection (a least-squares line through a resource's usage, extended to a threshold)."""

import math
import time
from dataclasses import dataclass
from urllib.parse import urlencode

from django.db.models import Max

from apps.health.constants import HOST_SERVICE
from apps.metrics import selectors as metrics
from apps.metrics.models import Series

MAX_METRIC_NAMES = 500
PERCENTILE_LINES = ("p50", "p90", "p99")
DAY_S = 86_400
DEFAULT_THRESHOLD = 0.9  # of a utilisation (0–1): 90 %
DEFAULT_HORIZON_S = 30 * DAY_S
# Host resources the sampler stores (apps/health/host.py): fractions 0–1 of service aivmon.
RESOURCES = {
    "disk": ("Disk used", "system.filesystem.utilization"),
    "memory": ("Memory used", "system.memory.utilization"),
    "cpu": ("CPU busy", "system.cpu.utilization"),
}
RESOURCE_LABELS = {"cpu": {"cpu": "total"}}


@dataclass(frozen=True, slots=True)
class MetricName:
    name: str
    type: str


def metric_name_list() -> list[MetricName]:
    """Return every metric name with its type (the most recently seen series'), by name."""
    rows = (
        Series.objects.values("name")
        .annotate(last=Max("last_seen"), kind=Max("type"))
        .order_by("name")
        .values_list("name", "kind")[:MAX_METRIC_NAMES]
    )
    return [MetricName(name, kind) for name, kind in rows]


def percentile_lines(*, query: metrics.MetricQuery) -> list[dict]:
    """Return p50, p90 and p99 of the metric as lines (every matched series merged)."""
    lines = []
    for agg in PERCENTILE_LINES:
        answer = metrics.metric_query(query=_merged(query, agg))
        points = answer[0].points if answer else []
        lines.append({"label": agg, "points": [[t, v] for t, v in points]})
    return lines


def _merged(query: metrics.MetricQuery, agg: str) -> metrics.MetricQuery:
    # group_by a label no series carries merges every series into one group ("").
    return metrics.MetricQuery(
        name=query.name,
        window=query.window,
        agg=agg,
        service=query.service,
        labels=query.labels,
        group_by="\x1f",
    )


# --- capacity projection ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Projection:
    """A least-squares line value = intercept + slope_per_s · t, and where it meets threshold."""

    threshold: float
    status: str  # "reached", "projected", "not_within_horizon", "falling", "no_data"
    slope_per_s: float = 0.0
    intercept: float = 0.0
    latest: float | None = None
    reaches_at_s: float | None = None  # epoch seconds (status projected or reached)

    def at(self, t_s: float) -> float:
        return self.intercept + self.slope_per_s * t_s

    @property
    def slope_per_day(self) -> float:
        return self.slope_per_s * DAY_S


def projection_shown(found: Projection, horizon_s: float = DEFAULT_HORIZON_S) -> dict:
    """Return the projection as the page shows it: percentages, rounded."""
    return {
        "status": found.status,
        "reaches_at_s": found.reaches_at_s,
        "threshold_pct": round(found.threshold * 100, 1),
        "latest_pct": None if found.latest is None else round(found.latest * 100, 1),
        "slope_pct_per_day": round(found.slope_per_day * 100, 2),
        "horizon_days": round(horizon_s / DAY_S),
    }


def least_squares(points: list[tuple[float, float]]) -> tuple[float, float] | None:
    """Return (slope, intercept) of the ordinary least-squares line through the points, or None
    with fewer than two distinct times."""
    n = len(points)
    if n < 2:
        return None
    mean_t = math.fsum(t for t, _ in points) / n
    mean_v = math.fsum(v for _, v in points) / n
    # Centred sums keep the precision that epoch seconds (~1.7e9) would otherwise eat.
    s_tt = math.fsum((t - mean_t) ** 2 for t, _ in points)
    if s_tt == 0:
        return None
    s_tv = math.fsum((t - mean_t) * (v - mean_v) for t, v in points)
    slope = s_tv / s_tt
    return slope, mean_v - slope * mean_t


def capacity_projection(
    points: list[tuple[float, float]],
    *,
    threshold: float = DEFAULT_THRESHOLD,
    now_s: float,
    horizon_s: float = DEFAULT_HORIZON_S,
) -> Projection:
    """Project the usage's linear trend to `threshold`: when it is reached, if within horizon."""
    fit = least_squares(points)
    if fit is None:
        return Projection(threshold, "no_data", latest=points[-1][1] if points else None)
    slope, intercept = fit
    found = Projection(threshold, "falling", slope, intercept, latest=points[-1][1])
    if found.latest is not None and found.latest >= threshold:
        return _replace(found, "reached", points[-1][0])
    if slope <= 0:
        return found
    reaches_at_s = max((threshold - intercept) / slope, now_s)
    if reaches_at_s - now_s > horizon_s:
        return _replace(found, "not_within_horizon", None)
    return _replace(found, "projected", reaches_at_s)


def _replace(found: Projection, status: str, reaches_at_s: float | None) -> Projection:
    return Projection(
        found.threshold,
        status,
        found.slope_per_s,
        found.intercept,
        found.latest,
        reaches_at_s,
    )


def resource_usage(*, resource: str, start_s: float, end_s: float) -> list[tuple[float, float]]:
    """Return the resource's usage (0–1) per step; for disks, the fullest mount point's."""
    _label, name = RESOURCES[resource]
    window = metrics.metric_window(start_s=start_s, end_s=end_s)
    answer = metrics.metric_query(
        query=metrics.MetricQuery(
            name=name,
            window=window,
            agg="avg",
            service=HOST_SERVICE,
            labels=RESOURCE_LABELS.get(resource, {}),
        )
    )
    if not answer:
        return []
    fullest = max(answer, key=lambda series: series.points[-1][1])
    return list(fullest.points)


def resource_projection(
    *,
    resource: str,
    start_s: float,
    end_s: float | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    horizon_s: float = DEFAULT_HORIZON_S,
) -> tuple[list[tuple[float, float]], Projection]:
    """Return the resource's usage over [start, end) and its projection to the threshold."""
    end_s = time.time() if end_s is None else end_s
    points = resource_usage(resource=resource, start_s=start_s, end_s=end_s)
    return points, capacity_projection(
        points, threshold=threshold, now_s=end_s, horizon_s=horizon_s
    )


def projection_lines(
    points: list[tuple[float, float]], projection: Projection, *, now_s: float
) -> list[dict]:
    """Return the usage, the fitted trend (to the date it meets the threshold) and the threshold
    as chart lines, in percent."""
    lines = [{"label": "used %", "points": [[t, round(v * 100, 3)] for t, v in points]}]
    if not points or projection.status == "no_data":
        return lines
    # Every line has a value at every time: uPlot draws no line across missing values.
    times = [t for t, _ in points]
    if projection.reaches_at_s is not None and projection.reaches_at_s > times[-1]:
        times.append(projection.reaches_at_s)
    threshold = round(projection.threshold * 100, 3)
    lines.append(
        {
            "label": "trend %",
            "color": "#e6550d",
            "points": [[t, round(projection.at(t) * 100, 3)] for t in times],
        }
    )
    lines.append(
        {"label": "threshold %", "color": "#d6616b", "points": [[t, threshold] for t in times]}
    )
    return lines


def query_string(params: dict[str, str], labels: dict[str, str]) -> str:
    """Return the API query string for the explorer's form values (empty values left out)."""
    pairs = [(key, value) for key, value in params.items() if value]
    pairs += [(f"label.{key}", value) for key, value in sorted(labels.items())]
    return urlencode(pairs)


# The ranges a page offers, by the key its URL carries.
RANGES = {"1h": 3600, "6h": 6 * 3600, "24h": DAY_S, "7d": 7 * DAY_S}
DEFAULT_RANGE = "1h"


def range_key(value: str | None, default: str = DEFAULT_RANGE) -> str:
    """Return the range the URL asks for, or the default for anything else."""
    return value if value in RANGES else default


def parse_labels(text: str) -> dict[str, str]:
    """Return the label filters written `key=value, key=value` (malformed parts left out)."""
    labels = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        if sep and key.strip():
            labels[key.strip()] = value.strip()
    return labels
