"""The capacity projection: a least-squares line through the usage, extended to a threshold."""

import pytest

from apps.dashboards.queries.metrics import (
    DAY_S,
    capacity_projection,
    least_squares,
    parse_labels,
    projection_lines,
)

NOW_S = 1_764_000_000.0


def test_least_squares_matches_the_hand_computation():
    # t = 0, 1, 2, 3; v = 1, 3, 4, 8. mean t 1.5, mean v 4; Stt = 5;
    # Stv = (-1.5)(-3) + (-0.5)(-1) + (0.5)(0) + (1.5)(4) = 11; slope 2.2; intercept 4 - 3.3 = 0.7.
    slope, intercept = least_squares([(0, 1), (1, 3), (2, 4), (3, 8)])

    assert slope == pytest.approx(2.2)
    assert intercept == pytest.approx(0.7)


def test_it_keeps_its_precision_on_epoch_seconds():
    points = [(NOW_S + 60 * i, 0.5 + 0.001 * i) for i in range(10)]

    slope, intercept = least_squares(points)

    assert slope == pytest.approx(0.001 / 60)
    assert intercept + slope * NOW_S == pytest.approx(0.5)


def test_it_projects_the_date_the_threshold_is_reached():
    # 50 % now, rising 10 points a day: 90 % in 4 days.
    points = [(NOW_S - DAY_S, 0.4), (NOW_S - DAY_S / 2, 0.45), (NOW_S, 0.5)]

    found = capacity_projection(points, threshold=0.9, now_s=NOW_S)

    assert found.status == "projected"
    assert found.reaches_at_s == pytest.approx(NOW_S + 4 * DAY_S)
    assert found.slope_per_day == pytest.approx(0.1)


def test_a_slow_rise_is_not_within_the_horizon():
    points = [(NOW_S - DAY_S, 0.40), (NOW_S, 0.41)]  # 49 more days to 90 %

    found = capacity_projection(points, threshold=0.9, now_s=NOW_S, horizon_s=30 * DAY_S)

    assert found.status == "not_within_horizon"
    assert found.reaches_at_s is None


def test_a_falling_usage_never_reaches_the_threshold():
    found = capacity_projection([(NOW_S - 60, 0.5), (NOW_S, 0.4)], now_s=NOW_S)

    assert found.status == "falling"


def test_usage_over_the_threshold_is_reached_already():
    found = capacity_projection([(NOW_S - 60, 0.89), (NOW_S, 0.95)], threshold=0.9, now_s=NOW_S)

    assert (found.status, found.reaches_at_s) == ("reached", NOW_S)


def test_one_sample_is_not_enough():
    assert capacity_projection([(NOW_S, 0.5)], now_s=NOW_S).status == "no_data"
    assert capacity_projection([], now_s=NOW_S).status == "no_data"


def test_the_chart_lines_run_the_trend_to_the_date_reached():
    points = [(NOW_S - DAY_S, 0.4), (NOW_S, 0.5)]
    found = capacity_projection(points, threshold=0.9, now_s=NOW_S)

    usage, trend, threshold = projection_lines(points, found, now_s=NOW_S)

    assert usage["points"] == [[NOW_S - DAY_S, 40.0], [NOW_S, 50.0]]
    assert trend["points"] == [
        [NOW_S - DAY_S, pytest.approx(40.0)],
        [NOW_S, pytest.approx(50.0)],
        [pytest.approx(NOW_S + 4 * DAY_S), pytest.approx(90.0)],
    ]
    assert [p[1] for p in threshold["points"]] == [90.0, 90.0, 90.0]


def test_labels_are_read_from_key_value_pairs():
    assert parse_labels("route=/login, status = 200,broken,") == {
        "route": "/login",
        "status": "200",
    }
