"""points_write: the contract ingest calls."""

import math
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from apps.metrics import services
from apps.metrics.models import HistogramPoint, Series, SummaryPoint
from apps.metrics.services import PointIn, points_write, series_cache_invalidate
from tests.metrics.factories import (
    T0_MS,
    cached_batch_statements,
    gauge,
    histogram,
    point,
    stored,
    stored_count,
)

pytestmark = pytest.mark.django_db

# epoch (1, or 3 the first time) + savepoint + series select, count, insert, select
# + one insert per point table + last_seen update + savepoint release
MAX_WRITE_QUERIES = 13
NEVER_MS = 10**15  # a compaction interval no test outlives: the head stays as written


def _queries_to_write(points: list[PointIn]) -> int:
    with CaptureQueriesContext(connection) as captured:
        result = points_write(points=points)
    assert result.accepted == len(points)
    return len(captured)


def _mixed_batch(size: int, *, offset: int = 0) -> list[PointIn]:
    """`size` points, each of a new series, of every kind of point."""
    makers = [
        lambda i: point(labels={"n": str(i)}),
        lambda i: gauge(labels={"n": str(i)}),
        lambda i: point("request_seconds", 0.2, type="histogram", labels={"n": str(i)}),
        lambda i: histogram("latency_seconds", bucket_counts=[1, 2, 3, 4], labels={"n": str(i)}),
        lambda i: point(
            "rpc_seconds",
            None,
            type="summary",
            count=3,
            sum=1.5,
            quantiles={"0.5": 0.4},
            labels={"n": str(i)},
        ),
    ]
    return [makers[i % len(makers)](offset + i) for i in range(size)]


def test_it_stores_points_and_creates_their_series():
    result = points_write(
        points=[point(value=3, labels={"route": "/login"}), gauge("queue_depth", 17)]
    )

    assert (result.accepted, result.rejected) == (2, [])
    counter = Series.objects.get(name="http_requests_total")
    assert (counter.type, counter.service, counter.labels) == (
        "counter",
        "api",
        {"route": "/login"},
    )
    assert counter.temporality == "cumulative"
    assert stored("ts_ms", "value", series=counter) == [(T0_MS, 3.0)]


def test_a_resent_batch_is_stored_once_and_accepted_again():
    batch = [point(value=1, ts_ms=T0_MS + i * 1000) for i in range(5)]

    first = points_write(points=batch)
    second = points_write(points=batch)

    assert (first.accepted, second.accepted) == (5, 5)
    assert stored_count() == 5
    assert Series.objects.count() == 1


def test_a_resent_histogram_and_summary_are_stored_once():
    batch = [
        histogram(bucket_counts=[1, 0, 2, 0]),
        point("rpc_seconds", None, type="summary", count=2, sum=1.0, quantiles={"0.5": 0.4}),
    ]

    points_write(points=batch)
    points_write(points=batch)

    assert (HistogramPoint.objects.count(), SummaryPoint.objects.count()) == (1, 1)


def test_of_two_points_at_one_time_the_first_written_stays():
    points_write(points=[point(value=1)])

    result = points_write(points=[point(value=2), point(value=3)])

    assert result.accepted == 2
    assert stored("value") == [1.0]


def test_labels_in_another_order_are_the_same_series():
    points_write(points=[point(labels={"a": "1", "b": "2"}, ts_ms=T0_MS)])
    points_write(points=[point(labels={"b": "2", "a": "1"}, ts_ms=T0_MS + 1000)])

    series = Series.objects.get()
    assert series.labels_text == '{"a":"1","b":"2"}'
    assert stored_count() == 2


def test_the_same_labels_of_another_service_or_name_are_another_series():
    points_write(points=[point(service="api"), point(service="web"), point("other_total")])

    assert Series.objects.count() == 3


def test_a_batch_makes_as_many_queries_for_1000_points_as_for_10(
    django_assert_max_num_queries, settings
):
    settings.AIVMON_METRICS_HEAD_COMPACT_EVERY_MS = NEVER_MS
    with django_assert_max_num_queries(MAX_WRITE_QUERIES):
        points_write(points=[point(labels={"warm": "up"})])  # creates the epoch row
    small = _queries_to_write(_mixed_batch(10))

    with django_assert_max_num_queries(MAX_WRITE_QUERIES):
        large = _queries_to_write(_mixed_batch(1000, offset=10))

    assert large == small
    assert Series.objects.count() == 1011


def test_a_batch_of_cached_series_needs_only_the_epoch_and_watermark_reads_and_the_insert(
    django_capture_on_commit_callbacks, settings
):
    settings.AIVMON_METRICS_HEAD_COMPACT_EVERY_MS = NEVER_MS
    batch = [point(labels={"n": str(i)}) for i in range(100)]
    with django_capture_on_commit_callbacks(execute=True):
        points_write(points=batch)
    later = [point(labels={"n": str(i)}, ts_ms=T0_MS + 1000) for i in range(100)]

    with CaptureQueriesContext(connection) as captured:
        points_write(points=later)

    # executemany is logged as "<n> times: <sql>"
    statements = [query["sql"].split(" times: ")[-1].split()[0].upper() for query in captured]
    assert statements == cached_batch_statements()
    assert stored_count() == 200


def test_the_cardinality_limit_refuses_new_series_and_keeps_accepting_known_ones(settings):
    settings.AIVMON_MAX_SERIES_PER_METRIC = 2
    points_write(points=[point(labels={"route": "/a"}), point(labels={"route": "/b"})])

    result = points_write(
        points=[
            point(labels={"route": "/c"}),
            point(labels={"route": "/a"}, ts_ms=T0_MS + 1000),
            point("other_total", labels={"route": "/c"}),
        ]
    )

    assert result.accepted == 2
    assert result.rejected == [
        (
            0,
            "metric http_requests_total has reached its limit of 2 series; "
            "new label combinations are refused",
        )
    ]
    assert Series.objects.filter(name="http_requests_total").count() == 2
    assert stored_count() == 4


def test_the_cardinality_limit_holds_within_one_batch(settings):
    settings.AIVMON_MAX_SERIES_PER_METRIC = 3

    result = points_write(points=[point(labels={"n": str(i)}) for i in range(5)])

    assert result.accepted == 3
    assert len(result.rejected) == 2
    assert Series.objects.count() == 3


def test_a_full_metric_refuses_new_series_from_the_cache_without_counting_again(
    settings, django_capture_on_commit_callbacks
):
    settings.AIVMON_MAX_SERIES_PER_METRIC = 1
    with django_capture_on_commit_callbacks(execute=True):
        points_write(points=[point(labels={"n": "1"})])
        points_write(points=[point(labels={"n": "2"})])

    with CaptureQueriesContext(connection) as captured:
        result = points_write(points=[point(labels={"n": "3"})])

    assert len(result.rejected) == 1
    assert not any("COUNT(" in query["sql"] for query in captured)


def test_a_point_of_another_type_than_its_series_is_refused():
    points_write(points=[point(value=1)])

    result = points_write(points=[gauge("http_requests_total", 5, ts_ms=T0_MS + 1000)])

    assert result.accepted == 0
    assert result.rejected == [
        (0, "metric http_requests_total is a counter; a gauge point cannot be added to it")
    ]
    assert Series.objects.get().type == "counter"


def test_the_first_type_of_a_new_series_wins_within_a_batch():
    result = points_write(points=[point(value=1), gauge("http_requests_total", 2)])

    assert result.accepted == 1
    assert [index for index, _ in result.rejected] == [1]


def test_histogram_buckets_sum_and_count_are_stored():
    points_write(points=[histogram(bounds=[0.1, 0.5], bucket_counts=[3, 2, 1], sum=1.9, unit="s")])

    stored = HistogramPoint.objects.get()
    assert (stored.count, stored.sum, stored.bounds, stored.bucket_counts) == (
        6,
        1.9,
        [0.1, 0.5],
        [3, 2, 1],
    )
    assert stored.series.unit == "s"


def test_summary_quantiles_are_stored_under_normalised_keys():
    points_write(
        points=[
            point(
                "rpc_seconds",
                None,
                type="summary",
                count=10,
                sum=4.2,
                quantiles={"0.50": 0.3, "0.99": 0.9},
            )
        ]
    )

    assert SummaryPoint.objects.get().quantiles == {"0.5": 0.3, "0.99": 0.9}


def test_delta_temporality_is_kept_on_the_series():
    points_write(points=[point(temporality="delta")])

    assert Series.objects.get().temporality == "delta"


def test_raw_histogram_observations_of_one_millisecond_are_all_kept_and_resent_once():
    batch = [point("request_seconds", v, type="histogram") for v in (0.1, 0.2, 0.3)]

    points_write(points=batch)
    points_write(points=batch)

    assert stored("ts_ms", "value") == [
        (T0_MS, 0.1),
        (T0_MS + 1, 0.2),
        (T0_MS + 2, 0.3),
    ]


@pytest.mark.parametrize(
    ("odd", "message"),
    [
        (point(value=math.nan), "value must be a finite number"),
        (point(value=math.inf), "value must be a finite number"),
        (point(value=None), "a counter point needs a value"),
        (point(value="3"), "value must be a number"),
        (point(type="timer"), "unknown metric type 'timer'"),
        (point(temporality="sideways"), "unknown temporality 'sideways'"),
        (point(name=""), "metric name must be text of 1 to 255 characters"),
        (point(name="x" * 256), "metric name must be text of 1 to 255 characters"),
        (point(name="a\x00b"), "metric name must not contain NUL characters"),
        (point(labels={"k": "a\x00"}), "labels must not contain NUL characters"),
        (point(ts_ms=-1), "timestamp is out of range"),
        (point(ts_ms=2**70), "timestamp is out of range"),
        (histogram(bounds=[1.0, 0.5], bucket_counts=[1, 1, 1]), "strictly ascending"),
        (histogram(bounds=[1.0], bucket_counts=[1, 1, 1]), "needs 2 bucket counts, not 3"),
        (histogram(bucket_counts=[1, -1, 0, 0]), "bucket count must be a whole number"),
        (point("s", None, type="summary", quantiles={}), "a summary point needs a count"),
        (point("s", None, type="summary", count=1, quantiles={"2": 1.0}), "between 0 and 1"),
        (point("s", None, type="summary", count=1, quantiles={"p50": 1.0}), "cannot be stored"),
        (point("h", None, type="histogram"), "a histogram point needs a value"),
    ],
)
def test_odd_points_are_refused_with_a_reason_and_the_rest_stored(odd, message):
    result = points_write(points=[point("fine_total"), odd])

    assert result.accepted == 1
    assert len(result.rejected) == 1
    index, reason = result.rejected[0]
    assert index == 1
    assert message in reason


def test_points_that_are_not_points_at_all_are_refused_not_crashing():
    result = points_write(points=[None, point(labels=["a"]), point(labels={1: "a"})])  # type: ignore[list-item]

    assert result.accepted == 0
    assert [index for index, _ in result.rejected] == [0, 1, 2]


def test_an_empty_batch_writes_nothing(django_assert_num_queries):
    with django_assert_num_queries(0):
        result = points_write(points=[])

    assert (result.accepted, result.rejected) == (0, [])


def test_last_seen_moves_forward_when_a_known_series_gets_points():
    points_write(points=[point()])
    long_ago = datetime(2020, 1, 1, tzinfo=UTC)
    Series.objects.update(last_seen=long_ago)

    points_write(points=[point(ts_ms=T0_MS + 1000)])

    series = Series.objects.get()
    assert series.last_seen > long_ago + timedelta(days=365)
    assert series.first_seen > series.last_seen - timedelta(minutes=1)


def test_a_rolled_back_batch_leaves_no_series_in_the_cache(
    fresh_series_cache, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        points_write(points=[point()])
        raise RuntimeError("the caller's transaction fails")

    assert len(fresh_series_cache) == 0
    assert points_write(points=[point()]).accepted == 1
    assert stored_count() == 1


def test_deleted_series_are_dropped_from_every_cache_by_the_epoch(
    fresh_series_cache, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        points_write(points=[point()])
    assert len(fresh_series_cache) == 1
    Series.objects.all().delete()
    series_cache_invalidate()

    result = points_write(points=[point(ts_ms=T0_MS + 1000)])

    assert result.accepted == 1
    assert stored("series_id") == [Series.objects.get().id]


def test_a_cached_series_gets_last_seen_written_again_once_the_resolution_passed(
    monkeypatch, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        points_write(points=[point()])
    monkeypatch.setattr(services, "LAST_SEEN_RESOLUTION_S", 0)

    with CaptureQueriesContext(connection) as captured:
        points_write(points=[point(ts_ms=T0_MS + 1000)])

    assert sum(query["sql"].startswith("UPDATE") for query in captured) == 1


def test_values_are_stored_exactly_whatever_their_magnitude():
    values = [0.1, -2.5, 1e300, -1e-300, 123456789012345.67, 0.0, 5e-324]

    points_write(points=[gauge(value=v, ts_ms=T0_MS + i) for i, v in enumerate(values)])

    assert stored("value") == values


@pytest.mark.parametrize("size", [332, 333, 334, 1000])
def test_a_batch_of_any_size_stores_each_point_once_and_the_first_of_equal_points(size):
    batch = [gauge(value=i, ts_ms=T0_MS + i) for i in range(size)]
    # Another value at the time of the last row of the first insert statement (333 rows): the
    # two meet across statements (or chunks) whatever the size.
    batch.insert(333, gauge(value=-1, ts_ms=T0_MS + min(332, size - 1)))

    first, again = points_write(points=batch), points_write(points=batch)

    assert (first.accepted, again.accepted) == (size + 1, size + 1)
    assert stored_count() == size
    assert not stored_count(value=-1)
