"""Range queries over rollups: which tier answers, and answers matching the raw points."""

import random
import statistics
import time
from collections import defaultdict

import orjson
import pytest

from apps.core.models import RetentionPolicy
from apps.metrics.aggregation import quantile_from_buckets
from apps.metrics.constants import DAY_MS, HOUR_MS
from apps.metrics.retention import metrics_prune
from apps.metrics.selectors import MetricQuery, metric_query, metric_window
from apps.metrics.sources import Sources, Window, source_for
from tests.conftest import key_client
from tests.metrics.factories import gauge, histogram, point, stored_count
from tests.metrics.rollup_support import DAY, DAY0, HOUR, at, closed, roll_up, write

pytestmark = pytest.mark.django_db

QUERY_URL = "/api/v1/metrics/query"
NOW = closed(50 * 24 + 7)  # fifty days and seven hours after DAY0
HOURLY_WATERMARK = at(50 * 24 + 7)  # the hour before NOW ended a grace delay ago: closed
DAILY_WATERMARK = at(50 * 24)


def _plan(sources: Sources) -> list[tuple]:
    """What reads which span: ("raw" | resolution, from_ms, to_ms)."""
    return [
        (getattr(part, "resolution", "raw"), part.from_ms, part.to_ms) for part in sources.parts
    ]


def _window(start_ms: int, end_ms: int, step_ms: int = 60_000) -> Window:
    return Window(start_ms, end_ms, step_ms)


# --- which tier answers ----------------------------------------------------------------------


def test_a_short_range_within_the_raw_retention_reads_raw_points_at_its_own_step():
    write(gauge("temperature", 1, ts_ms=at(1)))
    roll_up(NOW)
    window = _window(NOW - 2 * DAY_MS, NOW)

    sources = source_for(window, now_ms=NOW)

    assert (sources.window, _plan(sources)) == (window, [("raw", None, None)])


def test_a_ten_day_range_reads_hourly_rollups_then_raw_points_after_the_watermark():
    write(gauge("temperature", 1, ts_ms=at(1)))
    roll_up(NOW)

    sources = source_for(_window(NOW - 10 * DAY_MS, NOW), now_ms=NOW)

    start = (NOW - 10 * DAY_MS) // HOUR_MS * HOUR_MS
    assert sources.window == Window(start, NOW, HOUR_MS)  # whole hours, a minute became an hour
    assert _plan(sources) == [(HOUR, start, HOURLY_WATERMARK), ("raw", HOURLY_WATERMARK, None)]


def test_a_forty_day_range_reads_daily_then_hourly_rollups_then_raw_points():
    write(gauge("temperature", 1, ts_ms=at(1)))
    roll_up(NOW)

    sources = source_for(_window(NOW - 40 * DAY_MS, NOW, step_ms=4 * HOUR_MS), now_ms=NOW)

    start = (NOW - 40 * DAY_MS) // DAY_MS * DAY_MS
    assert sources.window == Window(start, NOW, DAY_MS)
    assert _plan(sources) == [
        (DAY, start, DAILY_WATERMARK),
        (HOUR, DAILY_WATERMARK, HOURLY_WATERMARK),
        ("raw", HOURLY_WATERMARK, None),
    ]


def test_a_short_range_past_the_raw_retention_reads_hourly_rollups():
    write(gauge("temperature", 1, ts_ms=at(1)))
    roll_up(NOW)

    sources = source_for(_window(at(40 * 24), at(41 * 24)), now_ms=NOW)

    assert _plan(sources) == [(HOUR, at(40 * 24), at(41 * 24))]


def test_a_range_starting_past_the_hourly_retention_reads_daily_rollups():
    write(gauge("temperature", 1, ts_ms=at(1)))
    roll_up(NOW)

    sources = source_for(_window(at(0), at(24)), now_ms=NOW)

    assert _plan(sources) == [(DAY, at(0), at(24))]


def test_without_rollups_a_long_range_reads_raw_points_at_its_own_step():
    write(gauge("temperature", 1, ts_ms=at(1)))
    window = _window(NOW - 10 * DAY_MS, NOW)

    sources = source_for(window, now_ms=NOW)

    assert (sources.window, _plan(sources)) == (window, [("raw", None, None)])


def test_a_longer_raw_retention_lets_raw_points_answer_older_ranges():
    write(gauge("temperature", 1, ts_ms=at(1)))
    roll_up(NOW)
    RetentionPolicy.objects.update_or_create(key="metrics.raw", defaults={"days": 60})

    sources = source_for(_window(at(0), at(24)), now_ms=NOW)

    assert _plan(sources) == [("raw", None, None)]


# --- answers over rollups --------------------------------------------------------------------


def _query(name: str, agg: str, start_ms: int, end_ms: int, step_ms: int, **filters):
    window = metric_window(start_s=start_ms / 1000, end_s=end_ms / 1000, step_s=step_ms / 1000)
    return metric_query(query=MetricQuery(name=name, window=window, agg=agg, **filters))


def _by_step(samples, start_ms: int, step_ms: int) -> dict[float, list]:
    steps: dict[float, list] = defaultdict(list)
    for ts_ms, value in samples:
        steps[(start_ms + (ts_ms - start_ms) // step_ms * step_ms) / 1000].append(value)
    return steps


def test_percentiles_of_raw_values_over_rollups_are_within_the_sketch_accuracy():
    rng = random.Random(9)
    samples = [(at(0, 0, 90 * i), rng.lognormvariate(-2, 1)) for i in range(10 * 24 * 40)]
    write(*[point("request_seconds", v, type="histogram", ts_ms=ts) for ts, v in samples])
    roll_up(closed(10 * 24))
    days = _by_step(samples, at(0), DAY_MS)

    for agg, percent in (("p50", 50), ("p95", 95), ("p99", 99)):
        (answer,) = _query("request_seconds", agg, at(0), at(240), DAY_MS)

        exact = {t: statistics.quantiles(v, n=100, method="inclusive") for t, v in days.items()}
        expected = {t: pytest.approx(cuts[percent - 1], rel=0.09) for t, cuts in exact.items()}
        assert dict(answer.points) == expected


LATENCY_BOUNDS = [0.1, 0.5, 1.0, 5.0]


def _histograms_reset_daily(rng: random.Random) -> tuple[list, dict[int, list[int]]]:
    """Cumulative histogram points every 15 minutes for ten days, reset once a day; return
    them and the observations added on each day (the true per-day bucket increases)."""
    cumulative, added_by_day = [0] * 5, defaultdict(lambda: [0] * 5)
    points = []
    for index in range(10 * 24 * 4):
        ts_ms = at(0, 15 * index)
        added = [rng.randrange(20) for _ in cumulative]
        reset = index % 96 == 50
        cumulative = added if reset else [a + b for a, b in zip(cumulative, added, strict=True)]
        points.append(histogram("latency_seconds", LATENCY_BOUNDS, cumulative, ts_ms=ts_ms))
        day = (ts_ms - DAY0) // DAY_MS
        added_by_day[day] = [a + b for a, b in zip(added_by_day[day], added, strict=True)]
    return points, added_by_day


def test_percentiles_of_histograms_over_rollups_equal_those_of_the_merged_raw_buckets():
    points, added_by_day = _histograms_reset_daily(random.Random(4))
    write(*points)
    roll_up(closed(10 * 24))

    (answer,) = _query("latency_seconds", "p90", at(0), at(240), DAY_MS)

    assert answer.points == [
        (at(24 * day) / 1000, pytest.approx(quantile_from_buckets(0.9, LATENCY_BOUNDS, counts)))
        for day, counts in sorted(added_by_day.items())
    ]


def test_summary_quantiles_over_rollups_are_the_mean_of_the_reported_ones():
    reported = [(at(0, 30 * i), 0.1 + (i % 7) / 10) for i in range(10 * 48)]
    write(
        *[
            point("rpc_seconds", None, type="summary", count=i, quantiles={"0.99": v}, ts_ms=ts)
            for i, (ts, v) in enumerate(reported)
        ]
    )
    roll_up(closed(10 * 24))

    (answer,) = _query("rpc_seconds", "p99", at(0), at(240), DAY_MS)

    expected = {
        t: pytest.approx(statistics.fmean(v)) for t, v in _by_step(reported, at(0), DAY_MS).items()
    }
    assert dict(answer.points) == expected


# --- over HTTP, at the present ---------------------------------------------------------------


def _now_ms() -> int:
    return round(time.time() * 1000)


def _get(make_key, **params) -> list[dict]:
    response = key_client(make_key("read")).get(QUERY_URL, params)
    assert response.status_code == 200, response.content
    return orjson.loads(response.content)["series"]


@pytest.fixture
def recent_days():
    """Ten days and a bit of a gauge and a counter every 20 minutes up to now, rolled up, and
    raw points kept one day only: what is older can only come from rollups."""
    now_ms = _now_ms()
    start_ms = (now_ms - 10 * DAY_MS) // HOUR_MS * HOUR_MS
    rng = random.Random(6)
    stamps = range(start_ms, now_ms - 1000, 20 * 60_000)
    temperature = [(ts_ms, round(rng.uniform(-10, 40), 2)) for ts_ms in stamps]
    requests = [(ts_ms, 7.0 * index + rng.randrange(3)) for index, ts_ms in enumerate(stamps)]
    write(
        *[gauge("temperature", value, ts_ms=ts_ms) for ts_ms, value in temperature],
        *[point("requests_total", value, ts_ms=ts_ms) for ts_ms, value in requests],
    )
    roll_up(now_ms)
    RetentionPolicy.objects.update_or_create(key="metrics.raw", defaults={"days": 1})
    metrics_prune(now_ms=now_ms, batch_size=1000)
    assert stored_count(ts_ms__lt=now_ms - 2 * DAY_MS) == 0
    return {"start_ms": start_ms, "temperature": temperature, "requests": requests}


@pytest.mark.parametrize(
    ("agg", "reduce"),
    [("avg", statistics.fmean), ("min", min), ("max", max), ("sum", sum), ("count", len)],
)
def test_the_api_answers_a_ten_day_range_from_rollups_as_the_raw_points_would(
    make_key, recent_days, agg, reduce
):
    start_ms = recent_days["start_ms"]

    (series,) = _get(make_key, name="temperature", agg=agg, start=start_ms / 1000, step="10m")

    expected = _by_step(recent_days["temperature"], start_ms, HOUR_MS)
    assert len(expected) >= 10 * 24  # every hour, the latest ones from raw points
    assert series["points"] == [[t, pytest.approx(reduce(v))] for t, v in sorted(expected.items())]


def test_the_api_answers_the_rate_of_a_ten_day_range_from_rollups(make_key, recent_days):
    start_ms, requests = recent_days["start_ms"], recent_days["requests"]

    (series,) = _get(make_key, name="requests_total", agg="rate", start=start_ms / 1000, step="1h")

    increases = [
        (ts, value - previous)
        for (ts, value), (_, previous) in zip(requests, [(0, 0.0), *requests[:-1]], strict=True)
    ]
    expected = _by_step(increases, start_ms, HOUR_MS)
    assert series["points"] == [
        [t, pytest.approx(sum(v) / 3600)] for t, v in sorted(expected.items())
    ]


def test_the_api_answers_a_forty_day_range_from_daily_rollups(make_key):
    now_ms = _now_ms()
    start_ms = (now_ms - 40 * DAY_MS) // DAY_MS * DAY_MS
    samples = [(ts_ms, float(ts_ms % 97)) for ts_ms in range(start_ms, now_ms - 1000, 6 * HOUR_MS)]
    write(*[gauge("temperature", value, ts_ms=ts_ms) for ts_ms, value in samples])
    roll_up(now_ms)

    (series,) = _get(make_key, name="temperature", agg="avg", start=start_ms / 1000)

    expected = _by_step(samples, start_ms, DAY_MS)
    assert series["points"] == [
        [t, pytest.approx(statistics.fmean(v))] for t, v in sorted(expected.items())
    ]
