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
