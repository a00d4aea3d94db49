"""Points to write, with defaults that keep tests short."""

from apps.metrics.services import PointIn

T0_MS = 1_764_200_040_000  # a whole minute: 2025-11-26T23:34:00Z
T0_S = T0_MS / 1000


def point(
    name: str = "http_requests_total",
    value: float | None = 1.0,
    *,
    ts_ms: int = T0_MS,
    type: str = "counter",
    service: str = "api",
    labels: dict | None = None,
    **fields,
) -> PointIn:
    return PointIn(
        name=name,
        type=type,
        service=service,
        labels=labels or {},
        ts_ms=ts_ms,
        value=value,
        **fields,
    )


def gauge(name: str = "queue_depth", value: float = 1.0, **fields) -> PointIn:
    return point(name, value, type="gauge", **fields)


def histogram(
    name: str = "request_seconds",
    bounds: list[float] | None = None,
    bucket_counts: list[int] | None = None,
    **fields,
) -> PointIn:
    bounds = [0.1, 0.5, 1.0] if bounds is None else bounds
    bucket_counts = bucket_counts or [0] * (len(bounds) + 1)
    return point(
        name,
        None,
        type="histogram",
        bounds=bounds,
        bucket_counts=bucket_counts,
        count=sum(bucket_counts),
        sum=fields.pop("sum", 0.0),
        **fields,
    )


def stored(*fields: str, **filters) -> list:
    """The `fields` of every stored plain point (in Point or the head) matching `filters`, in
    series then time order; one field gives plain values."""
    from apps.metrics.models import Point, PointHead

    rows = sorted(
        row
        for model in (Point, PointHead)
        for row in model.objects.filter(**filters).values_list("series_id", "ts_ms", *fields)
    )
    if len(fields) == 1:
        return [row[2] for row in rows]
    return [row[2:] for row in rows]


def stored_count(**filters) -> int:
    """How many plain points matching `filters` are stored (in Point or the head)."""
    from apps.metrics.models import Point, PointHead

    return sum(model.objects.filter(**filters).count() for model in (Point, PointHead))


def cached_batch_statements() -> list[str]:
    """The statements of a batch whose series are all cached: the epoch read, on SQLite the
    head's watermark read (PostgreSQL has no head), the point insert."""
    from django.db import connection

    reads = ["SELECT", "SELECT"] if connection.vendor == "sqlite" else ["SELECT"]
    return ["SAVEPOINT", *reads, "INSERT", "RELEASE"]
