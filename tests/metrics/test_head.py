"""The point head on SQLite (apps/metrics/points.py): appended to, compacted into Point, read
with Point by every reader; each point stored once. PostgreSQL writes Point directly."""

from datetime import UTC, datetime

import pytest
from django.db import connection

from apps.metrics import points, services
from apps.metrics.constants import HEAD_SETTLE_MS, HEAD_SHARDS, HOUR_MS, Resolution
from apps.metrics.models import Point, PointHead, PointHeadState, Rollup, Series
from apps.metrics.retention import metrics_prune
from apps.metrics.rollups import rollup_advance
from apps.metrics.selectors import MetricQuery, metric_query, metric_window
from apps.metrics.services import points_write
from tests.metrics.factories import T0_MS, T0_S, gauge, point, stored, stored_count

pytestmark = pytest.mark.django_db

NEVER_MS = 10**15
HOUR0 = T0_MS // HOUR_MS * HOUR_MS
sqlite_only = pytest.mark.skipif(
    connection.vendor != "sqlite", reason="the head is written on SQLite only"
)


@pytest.fixture(autouse=True)
def no_compaction_after_writes(settings) -> None:
    """Compaction runs when a test says so."""
    settings.AIVMON_METRICS_HEAD_COMPACT_EVERY_MS = NEVER_MS


def _write(*written) -> None:
    result = points_write(points=list(written))
    assert result.rejected == []


def _watermark(ms: int, shards=range(HEAD_SHARDS)) -> None:
    for shard in shards:
        PointHeadState.objects.update_or_create(
            id=points.SHARD_IDS[shard], defaults={"watermark_ms": ms}
        )


def _watermarks() -> list[int]:
    return list(PointHeadState.objects.order_by("id").values_list("watermark_ms", flat=True))


def _series_id(name: str) -> int:
    return Series.objects.get(name=name).id


def _query(name: str, agg: str, *, step_s: int = 60) -> list[tuple[float, float]]:
    window = metric_window(start_s=T0_S, end_s=T0_S + 600, step_s=step_s)
    (series,) = metric_query(query=MetricQuery(name=name, window=window, agg=agg))
    return series.points


def _compact_all() -> int:
    return points.points_compact(now_ms=NEVER_MS)


@sqlite_only
def test_points_after_the_watermark_are_appended_to_the_head():
    _watermark(T0_MS)

    _write(gauge("cpu", 1.0, ts_ms=T0_MS), gauge("cpu", 2.0, ts_ms=T0_MS + 1000))

    assert list(PointHead.objects.order_by("ts_ms").values_list("ts_ms", "value")) == [
        (T0_MS, 1.0),
        (T0_MS + 1000, 2.0),
    ]
    assert not Point.objects.exists()


@sqlite_only
def test_a_point_before_the_watermark_goes_to_point_directly():
    _watermark(T0_MS + 1)

    _write(gauge("cpu", 1.0, ts_ms=T0_MS), gauge("cpu", 2.0, ts_ms=T0_MS + 1))

    assert list(Point.objects.values_list("ts_ms", flat=True)) == [T0_MS]
    assert list(PointHead.objects.values_list("ts_ms", flat=True)) == [T0_MS + 1]


@sqlite_only
def test_compaction_moves_the_settled_head_into_point_and_raises_the_watermark():
    _watermark(T0_MS)
    _write(gauge("cpu", 1.0, ts_ms=T0_MS), gauge("cpu", 2.0, ts_ms=T0_MS + 5000))

    moved = points.points_compact(now_ms=T0_MS + 5000 + HEAD_SETTLE_MS)

    assert moved == 1
    assert list(Point.objects.values_list("ts_ms", flat=True)) == [T0_MS]
    assert list(PointHead.objects.values_list("ts_ms", flat=True)) == [T0_MS + 5000]
    assert _watermarks() == [T0_MS + 5000] * HEAD_SHARDS


def test_compacting_twice_moves_nothing_more():
    _write(*[gauge("cpu", float(i), ts_ms=T0_MS + i) for i in range(10)])
    _compact_all()
    before = stored("ts_ms", "value")

    assert _compact_all() == 0
    assert stored("ts_ms", "value") == before
    assert not PointHead.objects.exists()


@sqlite_only
def test_a_compaction_moves_about_max_rows_and_the_next_one_the_rest():
    _watermark(T0_MS)
    _write(*[gauge("cpu", float(i), ts_ms=T0_MS + i) for i in range(10)])

    first = points.points_compact(now_ms=NEVER_MS, max_rows=4)
    second = points.points_compact(now_ms=NEVER_MS, max_rows=4)
    rest = _compact_all()

    assert (first, second, rest) == (4, 4, 2)
    assert stored("value") == [float(i) for i in range(10)]


@sqlite_only
def test_points_of_one_millisecond_move_together_even_past_max_rows():
    _watermark(T0_MS)
    _write(*[gauge("cpu", 1.0, ts_ms=T0_MS, labels={"n": str(i)}) for i in range(5)])

    assert points.points_compact(now_ms=NEVER_MS, max_rows=2) == 5


def _names_in_two_shards() -> tuple[str, str]:
    """Two metric names whose series fall into different shards (series ids are sequential)."""
    _write(gauge("a", 0.0, ts_ms=T0_MS), gauge("b", 0.0, ts_ms=T0_MS))
    assert _series_id("a") % HEAD_SHARDS != _series_id("b") % HEAD_SHARDS
    return "a", "b"


@sqlite_only
def test_a_compaction_between_requests_moves_the_oldest_shard_only():
    _watermark(T0_MS)
    first, second = _names_in_two_shards()
    _watermark(T0_MS - 1, shards=[_series_id(second) % HEAD_SHARDS])

    moved = points.points_compact_oldest(now_ms=NEVER_MS)

    assert moved == 1
    assert list(Point.objects.values_list("series__name", flat=True)) == [second]
    assert list(PointHead.objects.values_list("series__name", flat=True)) == [first]
    marks = _watermarks()
    assert marks[_series_id(second) % HEAD_SHARDS] == NEVER_MS - HEAD_SETTLE_MS
    assert marks[_series_id(first) % HEAD_SHARDS] == T0_MS


@sqlite_only
def test_a_point_is_routed_by_the_watermark_of_its_own_shard():
    _watermark(T0_MS)
    first, second = _names_in_two_shards()
    _watermark(T0_MS + 10, shards=[_series_id(first) % HEAD_SHARDS])

    _write(gauge(first, 1.0, ts_ms=T0_MS + 5), gauge(second, 1.0, ts_ms=T0_MS + 5))

    assert list(Point.objects.values_list("series__name", "ts_ms")) == [(first, T0_MS + 5)]
    assert sorted(PointHead.objects.values_list("series__name", "ts_ms")) == [
        (first, T0_MS),
        (second, T0_MS),
        (second, T0_MS + 5),
    ]


def test_a_point_sent_again_after_one_shard_was_compacted_is_stored_once():
    _watermark(T0_MS)
    first, second = _names_in_two_shards()
    points.points_compact_oldest(now_ms=NEVER_MS)

    _write(gauge(first, 9.0, ts_ms=T0_MS), gauge(second, 9.0, ts_ms=T0_MS))
    _compact_all()

    assert stored("ts_ms", "value") == [(T0_MS, 0.0), (T0_MS, 0.0)]


def test_a_point_sent_again_after_compaction_is_stored_once_with_its_first_value():
    _write(gauge("cpu", 1.0, ts_ms=T0_MS))
    _compact_all()

    _write(gauge("cpu", 9.0, ts_ms=T0_MS))

    assert stored("ts_ms", "value") == [(T0_MS, 1.0)]


def test_a_point_sent_twice_into_the_head_is_stored_once_with_its_first_value():
    _write(gauge("cpu", 1.0, ts_ms=T0_MS))
    _write(gauge("cpu", 9.0, ts_ms=T0_MS))

    assert stored("ts_ms", "value") == [(T0_MS, 1.0)]


def test_queries_read_the_head_and_point_together_without_counting_twice():
    _write(*[gauge("cpu", 1.0, ts_ms=T0_MS + i * 1000) for i in range(30)])
    points.points_compact(now_ms=T0_MS + 15_000 + HEAD_SETTLE_MS)
    _write(*[gauge("cpu", 1.0, ts_ms=T0_MS + i * 1000) for i in range(30, 60)])
    _write(*[gauge("cpu", 5.0, ts_ms=T0_MS + i * 1000) for i in range(60)])  # sent again

    assert _query("cpu", "count") == [(T0_S, 60.0)]
    assert _query("cpu", "sum") == [(T0_S, 60.0)]


def test_a_counter_rate_over_the_head_and_point_is_the_rate_over_either_alone():
    _write(*[point("requests_total", float(i * 10), ts_ms=T0_MS + i * 10_000) for i in range(12)])
    all_in_head = _query("requests_total", "rate")
    points.points_compact(now_ms=T0_MS + 60_000 + HEAD_SETTLE_MS)
    split = _query("requests_total", "rate")
    _compact_all()

    assert split == all_in_head == _query("requests_total", "rate")
    assert len(split) == 2


def test_an_hour_is_rolled_up_from_the_head_and_point():
    _write(*[gauge("cpu", float(i), ts_ms=HOUR0 + i * 60_000) for i in range(60)])
    points.points_compact(now_ms=HOUR0 + 30 * 60_000 + HEAD_SETTLE_MS)

    rollup_advance(resolution=Resolution.HOUR, now_ms=HOUR0 + 2 * HOUR_MS, max_buckets=1)

    rollup = Rollup.objects.get(resolution=Resolution.HOUR)
    assert (rollup.bucket_start_ms, rollup.count, rollup.sum) == (HOUR0, 60, float(sum(range(60))))


def test_retention_keeps_a_series_whose_points_are_all_in_the_head():
    _write(gauge("cpu", 1.0, ts_ms=T0_MS))
    Series.objects.update(last_seen=datetime.fromtimestamp(T0_S - 86400, tz=UTC))

    result = metrics_prune(now_ms=T0_MS + 400 * 24 * HOUR_MS, batch_size=100)

    assert (result.series, Series.objects.count(), stored_count()) == (0, 1, 1)


def test_retention_deletes_old_points_from_the_head_too():
    _write(gauge("cpu", 1.0, ts_ms=HOUR0), gauge("cpu", 2.0, ts_ms=HOUR0 + 20 * 24 * HOUR_MS))
    rollup_advance(resolution=Resolution.HOUR, now_ms=HOUR0 + 10 * HOUR_MS, max_buckets=10)

    result = metrics_prune(now_ms=HOUR0 + 10 * 24 * HOUR_MS, batch_size=100)

    assert result.points == 1
    assert stored("value") == [2.0]


@sqlite_only
def test_batches_compact_the_head_a_shard_each_once_enough_has_settled(settings):
    settings.AIVMON_METRICS_HEAD_COMPACT_EVERY_MS = 0
    _watermark(T0_MS)

    for _ in range(HEAD_SHARDS):  # each batch compacts the shard with the oldest watermark
        _write(gauge("cpu", 1.0, ts_ms=T0_MS))

    assert list(Point.objects.values_list("ts_ms", flat=True)) == [T0_MS]
    assert not PointHead.objects.exists()


@pytest.fixture
def deferred_compaction():
    services.compaction_defer(enabled=True)
    yield
    services.compaction_defer(enabled=False)
    services.compaction_run_deferred()


@sqlite_only
def test_a_deferred_compaction_runs_when_the_server_says_the_response_is_sent(
    settings, deferred_compaction
):
    settings.AIVMON_METRICS_HEAD_COMPACT_EVERY_MS = 0
    _watermark(T0_MS)
    _write(gauge("cpu", 1.0, ts_ms=T0_MS))
    held = list(PointHead.objects.values_list("ts_ms", flat=True))

    services.compaction_run_deferred()
    for _ in range(HEAD_SHARDS - 1):  # a shard each time: the rest with the next batches
        _write(gauge("cpu", 1.0, ts_ms=T0_MS))
        services.compaction_run_deferred()

    assert held == [T0_MS]
    assert list(Point.objects.values_list("ts_ms", flat=True)) == [T0_MS]
    assert not PointHead.objects.exists()
