"""Range queries through the selectors: steps, aggregations, filters and groups."""

import random
import statistics

import pytest

from apps.metrics.selectors import (
    MetricQuery,
    QueryError,
    metric_query,
    metric_window,
    series_list,
)
from apps.metrics.services import points_write
from tests.metrics.factories import T0_MS, T0_S, gauge, histogram, point

pytestmark = pytest.mark.django_db


def _at(offset_s: float) -> int:
    return T0_MS + round(offset_s * 1000)


def _query(name: str, *, agg: str = "avg", start_s=T0_S, end_s=T0_S + 180, step_s=60, **filters):
    window = metric_window(start_s=start_s, end_s=end_s, step_s=step_s)
    return metric_query(query=MetricQuery(name=name, window=window, agg=agg, **filters))


def _points(name: str, **kwargs) -> list[tuple[float, float]]:
    (series,) = _query(name, **kwargs)
    return series.points


def _write(*points) -> None:
    result = points_write(points=list(points))
    assert result.rejected == []


def _cpu(value: float, offset_s: float, **labels) -> object:
    return gauge("cpu", value, ts_ms=_at(offset_s), labels=labels)


def _histogram_quantile_reference(q: float, bounds: list[float], counts: list[float]) -> float:
    """Prometheus' histogram_quantile, spelled out with a loop over cumulative counts."""
    cumulative, running = [], 0.0
    for count in counts:
        running += count
        cumulative.append(running)
    rank = q * cumulative[-1]
    for i, upper in enumerate(bounds):
        if cumulative[i] >= rank:
            lower = bounds[i - 1] if i else 0.0
            before = cumulative[i - 1] if i else 0.0
            return lower + (upper - lower) * (rank - before) / (cumulative[i] - before)
    return bounds[-1]


# --- avg, min, max, sum, count and steps ------------------------------------------------------


@pytest.mark.parametrize(
    ("agg", "expected"),
    [
        ("avg", [4.0, 5.0, 5.0]),
        ("min", [1.0, 4.0, 5.0]),
        ("max", [8.0, 6.0, 5.0]),
        ("sum", [12.0, 10.0, 5.0]),
        ("count", [3, 2, 1]),
    ],
)
def test_each_statistic_is_computed_per_step(agg, expected):
    _write(_cpu(1, 0), _cpu(3, 10), _cpu(8, 20), _cpu(4, 70), _cpu(6, 80), _cpu(5, 150))

    points = _points("cpu", agg=agg)

    assert points == [(T0_S, expected[0]), (T0_S + 60, expected[1]), (T0_S + 120, expected[2])]


def test_steps_start_at_the_window_start_and_empty_steps_are_left_out():
    _write(_cpu(1, 0), _cpu(4, 70), _cpu(6, 80), _cpu(5, 150), _cpu(9, 180))

    points = _points("cpu", start_s=T0_S + 30, end_s=T0_S + 180)

    # [30, 90) holds 70 and 80; [90, 150) nothing; [150, 210) holds 150 (180 is the end: out)
    assert points == [(T0_S + 30, 5.0), (T0_S + 150, 5.0)]


def test_series_without_points_in_the_window_are_left_out():
    _write(_cpu(1, 0, host="a"), _cpu(1, 3600, host="b"))

    answer = _query("cpu")

    assert [series.labels for series in answer] == [{"host": "a"}]


def test_without_group_by_each_series_is_answered_separately():
    _write(_cpu(1, 0, host="a"), _cpu(3, 0, host="b"))

    answer = _query("cpu")

    assert [(s.name, s.service, s.labels, s.points) for s in answer] == [
        ("cpu", "api", {"host": "a"}, [(T0_S, 1.0)]),
        ("cpu", "api", {"host": "b"}, [(T0_S, 3.0)]),
    ]


def test_group_by_merges_series_by_label_value_weighting_every_point():
    _write(
        _cpu(1, 0, host="a", region="eu"),
        _cpu(3, 10, host="a", region="eu"),
        _cpu(8, 0, host="b", region="eu"),
        _cpu(2, 0, host="c", region="us"),
        _cpu(4, 0, host="d"),
    )

    answer = _query("cpu", group_by="region")

    assert [(s.service, s.labels, s.points) for s in answer] == [
        ("api", {"region": ""}, [(T0_S, 4.0)]),
        ("api", {"region": "eu"}, [(T0_S, 4.0)]),
        ("api", {"region": "us"}, [(T0_S, 2.0)]),
    ]


def test_a_group_of_several_services_shows_no_service():
    _write(
        gauge("cpu", 1, ts_ms=T0_MS, service="api", labels={"region": "eu"}),
        gauge("cpu", 3, ts_ms=T0_MS, service="web", labels={"region": "eu"}),
    )

    (series,) = _query("cpu", group_by="region", agg="max")

    assert (series.service, series.points) == ("", [(T0_S, 3.0)])


# --- filters ---------------------------------------------------------------------------------


def test_label_filters_match_exact_values_only():
    _write(
        _cpu(1, 0, route="/login", status="200"),
        _cpu(2, 0, route="/login", status="500"),
        _cpu(3, 0, route="/login2", status="200"),
        _cpu(4, 0, route="/Login", status="200"),
        _cpu(5, 0, route='/x","status":"200', status="404"),
    )

    answer = _query("cpu", labels={"route": "/login", "status": "200"})

    assert [series.points for series in answer] == [[(T0_S, 1.0)]]


def test_label_filters_take_quotes_dots_and_unicode():
    _write(_cpu(1, 0, **{"http.route": 'say "hi"', "ü": "ß"}), _cpu(2, 0, **{"http.route": "x"}))

    answer = _query("cpu", labels={"http.route": 'say "hi"', "ü": "ß"})

    assert [series.points for series in answer] == [[(T0_S, 1.0)]]


def test_the_service_filter_keeps_one_service():
    _write(gauge("cpu", 1, ts_ms=T0_MS, service="api"), gauge("cpu", 2, ts_ms=T0_MS, service="web"))

    answer = _query("cpu", service="web")

    assert [(series.service, series.points) for series in answer] == [("web", [(T0_S, 2.0)])]


def test_series_list_filters_by_name_service_and_labels():
    _write(_cpu(1, 0, host="a"), _cpu(1, 0, host="b"), point("up_total", labels={"host": "a"}))

    matched = series_list(name="cpu", service="api", labels={"host": "a"})

    assert [(s.name, s.labels) for s in matched] == [("cpu", {"host": "a"})]


# --- rate ------------------------------------------------------------------------------------


def _counter(value: float, offset_s: float, **fields):
    return point("requests_total", value, ts_ms=_at(offset_s), **fields)


def test_rate_of_a_cumulative_counter_counts_a_drop_as_a_reset():
    _write(
        _counter(90, -15),  # before the window: the predecessor of the first sample
        _counter(100, 0),
        _counter(110, 15),
        _counter(130, 30),
        _counter(5, 45),  # reset: 5 requests since
        _counter(20, 60),
        _counter(80, 75),
    )

    points = _points("requests_total", agg="rate", end_s=T0_S + 120)

    assert points == [(T0_S, (10 + 10 + 20 + 5) / 60), (T0_S + 60, (15 + 60) / 60)]


def test_the_first_value_of_a_new_counter_is_all_increase():
    _write(_counter(30, 0), _counter(45, 30))

    assert _points("requests_total", agg="rate") == [(T0_S, 45 / 60)]


def test_after_a_gap_longer_than_the_lookback_the_first_sample_is_only_a_base():
    _write(_counter(50, -3600), _counter(100, 0), _counter(130, 30))

    assert _points("requests_total", agg="rate") == [(T0_S, 30 / 60)]


def test_rate_of_a_delta_counter_is_its_sum_per_second():
    _write(
        _counter(3, 0, temporality="delta"),
        _counter(4, 30, temporality="delta"),
        _counter(6, 60, temporality="delta"),
    )

    points = _points("requests_total", agg="rate", end_s=T0_S + 120)

    assert points == [(T0_S, 7 / 60), (T0_S + 60, 6 / 60)]


def test_rate_of_a_group_is_the_sum_of_its_series_rates():
    _write(
        _counter(0, 0, labels={"pod": "a", "app": "x"}),
        _counter(60, 30, labels={"pod": "a", "app": "x"}),
        _counter(0, 0, labels={"pod": "b", "app": "x"}),
        _counter(120, 30, labels={"pod": "b", "app": "x"}),
    )

    points = _points("requests_total", agg="rate", group_by="app", end_s=T0_S + 60)

    assert points == [(T0_S, 3.0)]


# --- percentiles -----------------------------------------------------------------------------

BOUNDS = [0.1, 0.5, 1.0]


def _buckets(counts: list[int], offset_s: float, **fields):
    return histogram("latency_seconds", BOUNDS, counts, ts_ms=_at(offset_s), **fields)


@pytest.mark.parametrize(("agg", "q"), [("p50", 0.5), ("p90", 0.9), ("p95", 0.95), ("p99", 0.99)])
def test_percentiles_of_cumulative_histograms_use_the_bucket_increase_over_each_step(agg, q):
    _write(
        _buckets([1, 1, 1, 0], -30),
        _buckets([11, 21, 6, 1], 10),
        _buckets([31, 41, 16, 2], 40),
        _buckets([31, 41, 56, 2], 70),
    )
    first_step = [30, 40, 15, 2]  # increases 10, 20, 5, 1 then 20, 20, 10, 1
    second_step = [0, 0, 40, 0]

    points = _points("latency_seconds", agg=agg, end_s=T0_S + 120)

    assert points == [
        (T0_S, pytest.approx(_histogram_quantile_reference(q, BOUNDS, first_step))),
        (T0_S + 60, pytest.approx(_histogram_quantile_reference(q, BOUNDS, second_step))),
    ]


def test_the_median_of_histogram_buckets_interpolates_inside_its_bucket():
    _write(_buckets([0, 0, 0, 0], -30), _buckets([30, 40, 15, 2], 10))

    points = _points("latency_seconds", agg="p50")

    # rank 43.5 of 87 falls in (0.1, 0.5], 13.5 of its 40 in
    assert points == [(T0_S, pytest.approx(0.1 + 0.4 * 13.5 / 40))]


def test_a_new_cumulative_histogram_counts_its_first_buckets_from_zero_once():
    # An OpenTelemetry SDK exports the same cumulative figures again at shutdown.
    _write(_buckets([2, 1, 1, 0], 10), _buckets([2, 1, 1, 0], 20))

    points = _points("latency_seconds", agg="p50")

    assert points == [(T0_S, pytest.approx(0.1))]


def test_a_histogram_reset_counts_its_new_buckets_as_the_increase():
    _write(_buckets([50, 50, 50, 50], -30), _buckets([0, 4, 0, 0], 10))

    points = _points("latency_seconds", agg="p50")

    assert points == [(T0_S, pytest.approx(0.3))]


def test_percentiles_of_delta_histograms_add_the_buckets_of_each_step_across_the_group():
    _write(
        _buckets([0, 10, 0, 0], 0, temporality="delta", labels={"pod": "a"}),
        _buckets([0, 0, 10, 0], 20, temporality="delta", labels={"pod": "a"}),
        _buckets([0, 0, 20, 0], 10, temporality="delta", labels={"pod": "b"}),
    )

    points = _points("latency_seconds", agg="p90", group_by="app")

    assert points == [
        (T0_S, pytest.approx(_histogram_quantile_reference(0.9, BOUNDS, [0, 10, 30, 0])))
    ]


@pytest.mark.parametrize(("agg", "percent"), [("p50", 50), ("p90", 90), ("p95", 95), ("p99", 99)])
def test_percentiles_of_raw_values_match_statistics_quantiles(agg, percent):
    rng = random.Random(7)
    values = [round(rng.uniform(0, 20), 3) for _ in range(97)]
    _write(
        *[
            point("request_seconds", v, type="histogram", ts_ms=_at(i / 10))
            for i, v in enumerate(values)
        ]
    )
    expected = statistics.quantiles(values, n=100, method="inclusive")[percent - 1]

    points = _points("request_seconds", agg=agg)

    assert points == [(T0_S, pytest.approx(expected))]


def test_percentiles_of_gauges_come_from_their_values():
    _write(_cpu(1, 0), _cpu(2, 1), _cpu(3, 2), _cpu(4, 3), _cpu(100, 70))

    points = _points("cpu", agg="p50")

    assert points == [(T0_S, 2.5), (T0_S + 60, 100.0)]


def test_percentiles_of_summaries_average_the_reported_quantile_over_the_step():
    summary = {"type": "summary", "count": 10, "sum": 3.0}
    _write(
        point("rpc_seconds", None, ts_ms=_at(0), quantiles={"0.5": 0.2, "0.99": 0.9}, **summary),
        point("rpc_seconds", None, ts_ms=_at(30), quantiles={"0.5": 0.4, "0.99": 1.1}, **summary),
    )

    assert _points("rpc_seconds", agg="p99") == [(T0_S, pytest.approx(1.0))]
    assert _points("rpc_seconds", agg="p50") == [(T0_S, pytest.approx(0.3))]
    assert _query("rpc_seconds", agg="p90") == []


# --- the window ------------------------------------------------------------------------------


def test_the_window_defaults_to_the_last_hour_in_about_300_steps():
    window = metric_window(end_s=T0_S)

    assert (window.start_ms, window.end_ms, window.step_ms) == (T0_MS - 3_600_000, T0_MS, 12_000)


def test_the_default_step_is_never_under_a_second():
    assert metric_window(start_s=T0_S, end_s=T0_S + 10).step_ms == 1000


@pytest.mark.parametrize(
    ("window", "field"),
    [
        ({"start_s": T0_S + 1, "end_s": T0_S}, "start"),
        ({"start_s": T0_S, "end_s": T0_S + 60, "step_s": 0.5}, "step"),
        ({"start_s": T0_S, "end_s": T0_S + 11_001, "step_s": 1}, "step"),
    ],
)
def test_the_window_refuses_what_cannot_be_answered(window, field):
    with pytest.raises(QueryError) as caught:
        metric_window(**window)

    assert caught.value.field == field


def test_eleven_thousand_points_per_series_are_allowed():
    window = metric_window(start_s=T0_S, end_s=T0_S + 11_000, step_s=1)

    assert window.step_ms == 1000


def test_a_query_answering_more_series_than_the_maximum_is_refused(settings):
    settings.AIVMON_METRICS_QUERY_MAX_SERIES = 2
    _write(_cpu(1, 0, host="a", dc="x"), _cpu(1, 0, host="b", dc="x"), _cpu(1, 0, host="c"))

    with pytest.raises(QueryError):
        _query("cpu")
    assert len(_query("cpu", group_by="dc")) == 2


def test_a_query_of_an_unknown_metric_answers_no_series():
    assert _query("nothing_here") == []


def test_the_window_refuses_numbers_that_are_not_finite():
    with pytest.raises(QueryError) as caught:
        metric_window(start_s=T0_S, end_s=T0_S + 60, step_s=float("nan"))

    assert caught.value.field == "step"
