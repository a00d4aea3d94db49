"""The arithmetic of range queries, without a database."""

import statistics

import pytest

from apps.metrics.aggregation import (
    HistogramSum,
    counter_increases,
    histogram_increases,
    quantile_from_buckets,
    quantile_from_values,
)


def test_counter_increases_start_after_the_first_sample_and_count_a_drop_as_a_reset():
    samples = [(0, 5.0), (10, 7.0), (20, 2.0), (30, 2.0), (40, 4.5)]

    assert list(counter_increases(samples, from_ms=10)) == [
        (10, 2.0),
        (20, 2.0),
        (30, 0.0),
        (40, 2.5),
    ]


def test_samples_before_the_window_only_serve_as_the_previous_value():
    samples = [(0, 5.0), (5, 6.0), (10, 9.0)]

    assert list(counter_increases(samples, from_ms=10)) == [(10, 3.0)]


def test_histogram_increases_are_per_bucket_and_start_over_on_a_reset_or_new_bounds():
    points = [
        (0, (1.0,), [1, 1]),
        (10, (1.0,), [3, 1]),
        (20, (1.0,), [0, 1]),  # a bucket shrank: reset
        (30, (2.0,), [5, 5]),  # other bounds: start over
    ]

    assert list(histogram_increases(points, from_ms=0)) == [
        (10, (1.0,), [2, 0]),
        (20, (1.0,), [0, 1]),
        (30, (2.0,), [5, 5]),
    ]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        (0.25, 0.5),  # rank 1 of 4: half of the first bucket (0, 1]
        (0.5, 1.0),
        (0.6, 1.4),  # rank 2.4: 0.4 of the one observation in (1, 2]
        (0.75, 2.0),
        (0.99, 2.0),  # rank 3.96 falls in +Inf: the highest finite bound
    ],
)
def test_quantiles_from_buckets_interpolate_like_prometheus(q, expected):
    assert quantile_from_buckets(q, [1.0, 2.0], [2, 1, 1]) == pytest.approx(expected)


def test_a_first_bucket_at_or_below_zero_answers_its_bound():
    assert quantile_from_buckets(0.5, [-1.0, 1.0], [10, 0, 0]) == -1.0


@pytest.mark.parametrize(("bounds", "counts"), [([1.0], [0, 0]), ([], [5]), ([1.0, 2.0], [])])
def test_no_quantile_without_observations_or_finite_buckets(bounds, counts):
    assert quantile_from_buckets(0.5, bounds, counts) is None


def test_histograms_of_one_layout_add_up_bucket_by_bucket():
    total = HistogramSum()
    total.add((1.0, 2.0), [1, 0, 0])
    total.add((1.0, 2.0), [1, 1, 1])

    assert total.layouts == {(1.0, 2.0): [2, 1, 1]}
    assert total.quantile(0.5) == pytest.approx(1.0)


def test_histograms_of_different_layouts_merge_by_upper_bound():
    total = HistogramSum()
    total.add((1.0,), [2, 0])
    total.add((2.0,), [2, 0])

    # merged: (0, 1] holds 2, (1, 2] holds 2: the median is the end of the first bucket
    assert total.quantile(0.5) == pytest.approx(1.0)


@pytest.mark.parametrize("q", [0.5, 0.9, 0.95, 0.99])
def test_quantiles_of_values_match_statistics_inclusive(q):
    values = [3.5, 1.0, 8.25, 2.0, 2.0, 13.0, 0.5, 7.0, 4.0, 11.5, 6.0]

    expected = statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1]

    assert quantile_from_values(q, values) == pytest.approx(expected)


def test_the_quantile_of_one_value_is_that_value_and_of_none_is_none():
    assert quantile_from_values(0.99, [4.0]) == 4.0
    assert quantile_from_values(0.5, []) is None
