"""Helpers of the rollup and retention tests: a day of fixed timestamps, snapshots, references."""

from apps.metrics.constants import DAY_MS, HOUR_MS, ROLLUP_GRACE_MS, Resolution
from apps.metrics.models import Rollup
from apps.metrics.rollups import rollup_advance
from apps.metrics.services import points_write
from tests.metrics.factories import T0_MS

DAY0 = T0_MS // DAY_MS * DAY_MS  # 2025-11-26T00:00Z
HOUR, DAY = Resolution.HOUR, Resolution.DAY
STATS = ("count", "sum", "min", "max", "last", "increase")
ALL_FIELDS = (*STATS, "sketch", "histogram", "histogram_last", "summary")


def at(hour: int, minute: int = 0, second: int = 0) -> int:
    """Epoch ms of a moment of DAY0 (hours past 23 run into the next days)."""
    return DAY0 + hour * HOUR_MS + minute * 60_000 + second * 1000


def closed(hours: int) -> int:
    """A now at which the first `hours` hours from DAY0 on are closed."""
    return at(hours) + ROLLUP_GRACE_MS


def write(*points) -> None:
    result = points_write(points=list(points))
    assert result.rejected == []


def roll_up(now_ms: int, *, max_buckets: int = 1000) -> None:
    """Roll up every closed hour, then every closed day."""
    rollup_advance(resolution=HOUR, now_ms=now_ms, max_buckets=max_buckets)
    rollup_advance(resolution=DAY, now_ms=now_ms, max_buckets=max_buckets)


def roll_up_one_bucket_at_a_time(now_ms: int) -> int:
    """Roll up as `roll_up` does, one bucket per call; return how many calls did work."""
    calls = 0
    for resolution in (HOUR, DAY):
        while rollup_advance(resolution=resolution, now_ms=now_ms, max_buckets=1).buckets:
            calls += 1
    return calls


def rows(resolution: str = HOUR, fields: tuple[str, ...] = STATS) -> dict[tuple[str, int], dict]:
    """Return {(metric name, bucket start): {field: value}} of the rollups of `resolution`."""
    found = Rollup.objects.filter(resolution=resolution).values(
        "series__name", "bucket_start_ms", *fields
    )
    return {
        (row.pop("series__name"), row.pop("bucket_start_ms")): row
        for row in found.order_by("series__name", "bucket_start_ms")
    }


def snapshot() -> list[tuple]:
    """Every rollup row, every column but the id, in a fixed order."""
    columns = [f.attname for f in Rollup._meta.concrete_fields if f.name != "id"]
    ordered = Rollup.objects.order_by("series_id", "resolution", "bucket_start_ms")
    return list(ordered.values_list(*columns))


def reference(samples: list[tuple[int, float]], *, base: float | None = None) -> dict:
    """count, sum, min, max, last and the counter increase of samples, spelled out in Python.

    The first sample's predecessor is `base` (the last value before), or zero without one; a
    value below its predecessor means a reset, the value itself being the increase.
    """
    values = [value for _, value in sorted(samples)]
    increase, previous = 0.0, 0.0 if base is None else base
    for value in values:
        increase += value - previous if value >= previous else value
        previous = value
    return {
        "count": len(values),
        "sum": sum(values),
        "min": min(values),
        "max": max(values),
        "last": values[-1],
        "increase": increase,
    }


def within(samples: list[tuple[int, float]], from_ms: int, to_ms: int) -> list[tuple[int, float]]:
    return [(ts_ms, value) for ts_ms, value in samples if from_ms <= ts_ms < to_ms]
