"""Overview reads: active alerts and open threats by severity, component states, ingest volumes.

Also the time-bucket helpers the security and alerts timelines share: counts per minute (ranges
up to 6 h) or per hour, aggregated in SQL, with empty buckets filled in as zeros.
"""

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.models import (
    BigIntegerField,
    Count,
    ExpressionWrapper,
    F,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.functions import Trunc
from django.utils import timezone

from apps.alerts.constants import ACTIVE_STATES, AlertState
from apps.alerts.models import Alert
from apps.core.constants import Severity
from apps.health import selectors as health
from apps.health.models import ComponentState
from apps.logs.models import LogRecord
from apps.metrics.models import Series
from apps.security.constants import ThreatStatus
from apps.security.models import SecurityEvent, Threat
from apps.security.signals import SELF_SERVICE
from apps.testruns.models import Run
from apps.traces.models import TraceSummary

NS_PER_S = 1_000_000_000
MINUTE_BUCKETS_UP_TO_S = 6 * 3600
MAX_RANGE_S = 31 * 86400
MAX_COMPONENTS = 50
SEVERITIES = [label for _, label in Severity.choices]  # info … critical
# Severity colours of the timelines, matching the badges (static/css/aivmon.css --sev-*).
SEVERITY_COLORS = {
    "info": "#6b7a90",
    "low": "#2c7fb8",
    "medium": "#d99a00",
    "high": "#e6550d",
    "critical": "#c0392b",
}


# ---- time buckets --------------------------------------------------------------------------
def bucket_step_s(range_s: float) -> int:
    """Minutes up to a 6-hour range, hours beyond."""
    return 60 if range_s <= MINUTE_BUCKETS_UP_TO_S else 3600


def bucket_starts(start: datetime, end: datetime, step_s: int) -> list[int]:
    """Every bucket start (epoch seconds) from the one holding `start` to the one holding `end`."""
    first = int(start.timestamp()) // step_s * step_s
    return list(range(first, int(end.timestamp()) + 1, step_s))


def by_datetime_bucket(rows: QuerySet, field: str, step_s: int) -> QuerySet:
    """Annotate `bucket` (the minute or hour a DateTimeField falls in) for a GROUP BY."""
    unit = "minute" if step_s == 60 else "hour"
    return rows.annotate(bucket=Trunc(field, unit, tzinfo=UTC))


def by_ns_bucket(rows: QuerySet, field: str, step_s: int) -> QuerySet:
    """Annotate `bucket` (epoch ns ÷ step, an integer) for a GROUP BY."""
    step = Value(step_s * NS_PER_S, output_field=BigIntegerField())
    return rows.annotate(bucket=ExpressionWrapper(F(field) / step, output_field=BigIntegerField()))


def bucket_seconds(bucket: Any, step_s: int) -> int:
    """A bucket key as epoch seconds, whichever helper made it."""
    if isinstance(bucket, datetime):
        return int(bucket.timestamp())
    return int(bucket) * step_s


def filled(counts: dict[int, float], starts: Iterable[int]) -> list[list[float]]:
    """[[t, count], …] for every bucket, zero where nothing was counted."""
    return [[t, counts.get(t, 0)] for t in starts]


def severity_timeline(
    rows: QuerySet, field: str, *, start: datetime, end: datetime
) -> dict[str, Any]:
    """Rows (with a `severity`) counted per bucket of DateTimeField `field`, a line a severity."""
    step_s = bucket_step_s((end - start).total_seconds())
    within = rows.filter(**{f"{field}__gte": start, f"{field}__lte": end})
    grouped = (
        by_datetime_bucket(within, field, step_s)
        .values("bucket", "severity")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts: dict[str, dict[int, float]] = {name: {} for name in SEVERITIES}
    for row in grouped:
        counts[Severity(row["severity"]).label][bucket_seconds(row["bucket"], step_s)] = row["n"]
    starts = bucket_starts(start, end, step_s)
    lines = [
        {"label": name, "color": SEVERITY_COLORS[name], "points": filled(counts[name], starts)}
        for name in SEVERITIES
        if counts[name]
    ]
    return {"step_s": step_s, "lines": lines}


# ---- overview cards ------------------------------------------------------------------------
def active_alert_counts() -> dict[str, dict[str, int]]:
    """Active alerts counted by state, then severity: {"firing": {"high": 2, …}, …}."""
    counts: dict[str, dict[str, int]] = {state: {} for state in ACTIVE_STATES}
    rows = (
        Alert.objects.filter(state__in=ACTIVE_STATES)
        .values("state", "severity")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in rows:
        counts[row["state"]][Severity(row["severity"]).label] = row["n"]
    return counts


def severity_rows(counts: dict[str, int]) -> list[tuple[str, int]]:
    """(severity, count) from critical down to info, only those counted."""
    return [(name, counts[name]) for name in reversed(SEVERITIES) if counts.get(name)]


def open_threat_counts() -> dict[str, int]:
    """Open threats by severity name."""
    rows = (
        Threat.objects.filter(status=ThreatStatus.OPEN)
        .values("severity")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {Severity(row["severity"]).label: row["n"] for row in rows}


def component_states() -> list[ComponentState]:
    """The latest state of each checked component, by name."""
    return list(health.component_state_list()[:MAX_COMPONENTS])


def ingest_volumes(*, now: datetime | None = None) -> list[dict[str, Any]]:
    """Items stored in the last 5 minutes and the last hour, per kind (by their own timestamps).

    Metrics count the series that reported (points have no time index of their own to count by);
    security events leave out aivmon's own (service "aivmon").
    """
    now = now or timezone.now()
    hour, five = now - timedelta(hours=1), now - timedelta(minutes=5)
    hour_ns, five_ns = int(hour.timestamp() * NS_PER_S), int(five.timestamp() * NS_PER_S)
    logs = LogRecord.objects.filter(ts_ns__gte=hour_ns).aggregate(
        hour=Count("id"), five=Count("id", filter=Q(ts_ns__gte=five_ns))
    )
    spans = TraceSummary.objects.filter(start_ns__gte=hour_ns).aggregate(
        hour=Sum("span_count"), five=Sum("span_count", filter=Q(start_ns__gte=five_ns))
    )
    events = (
        _reported_events()
        .filter(timestamp__gte=hour)
        .aggregate(hour=Count("id"), five=Count("id", filter=Q(timestamp__gte=five)))
    )
    runs = Run.objects.filter(started_at__gte=hour).aggregate(
        hour=Count("id"), five=Count("id", filter=Q(started_at__gte=five))
    )
    series = Series.objects.filter(last_seen__gte=hour).aggregate(
        hour=Count("id"), five=Count("id", filter=Q(last_seen__gte=five))
    )
    return [
        {"kind": "metric series reporting", "page": "metrics", **series},
        {"kind": "spans", "page": "traces", **spans},
        {"kind": "log records", "page": "logs", **logs},
        {"kind": "security events", "page": "security", **events},
        {"kind": "test runs", "page": "testruns", **runs},
    ]


def ingest_timeline(*, start: datetime, end: datetime) -> dict[str, Any]:
    """Spans, log records and security events per minute (or hour) between start and end."""
    step_s = bucket_step_s((end - start).total_seconds())
    start_ns, end_ns = int(start.timestamp() * NS_PER_S), int(end.timestamp() * NS_PER_S)
    traces = TraceSummary.objects.filter(start_ns__gte=start_ns, start_ns__lte=end_ns)
    spans = by_ns_bucket(traces, "start_ns", step_s).values("bucket").annotate(n=Sum("span_count"))
    records = LogRecord.objects.filter(ts_ns__gte=start_ns, ts_ns__lte=end_ns)
    logs = by_ns_bucket(records, "ts_ns", step_s).values("bucket").annotate(n=Count("id"))
    reported = _reported_events().filter(timestamp__gte=start, timestamp__lte=end)
    events = by_datetime_bucket(reported, "timestamp", step_s).values("bucket")
    events = events.annotate(n=Count("id"))
    starts = bucket_starts(start, end, step_s)
    lines = [
        {"label": label, "points": filled(_counts(rows.order_by(), step_s), starts)}
        for label, rows in (("spans", spans), ("log records", logs), ("security events", events))
    ]
    return {"step_s": step_s, "lines": lines}


def _reported_events() -> QuerySet[SecurityEvent]:
    # aivmon's own observations (its sign-ins, denials) are not ingest from services.
    return SecurityEvent.objects.exclude(service=SELF_SERVICE)


def _counts(rows: Iterable[dict[str, Any]], step_s: int) -> dict[int, float]:
    return {bucket_seconds(row["bucket"], step_s): row["n"] or 0 for row in rows}


def firing_total(counts: dict[str, dict[str, int]]) -> int:
    return sum(counts.get(AlertState.FIRING, {}).values())
