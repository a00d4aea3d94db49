"""metrics_prune: raw points, rollups and empty series past their retention, never before their
rollup is written."""

from datetime import UTC, datetime

import pytest

from apps.core.models import RetentionPolicy
from apps.metrics import services
from apps.metrics.constants import DAY_MS, HOUR_MS
from apps.metrics.models import HistogramPoint, Rollup, Series, SeriesEpoch, SummaryPoint
from apps.metrics.retention import metrics_prune
from apps.metrics.rollups import rollup_advance, rollup_watermark
from tests.metrics.factories import gauge, histogram, point, stored, stored_count
from tests.metrics.rollup_support import DAY, DAY0, HOUR, at, closed, roll_up, write

pytestmark = pytest.mark.django_db

NOW = closed(10 * 24)  # ten days after DAY0: raw points of the first three are past 7 days


def _hourly_gauge(hours: int) -> None:
    """One temperature reading in each of the first `hours` hours from DAY0 on."""
    write(*[gauge("temperature", hour, ts_ms=at(hour, 30)) for hour in range(hours)])


def _point_hours() -> list[int]:
    return sorted((ts_ms - DAY0) // HOUR_MS for ts_ms in stored("ts_ms"))


def _retain(key: str, days: int | None) -> None:
    RetentionPolicy.objects.update_or_create(key=key, defaults={"days": days})


def _prune(now_ms: int = NOW, **kwargs):
    return metrics_prune(now_ms=now_ms, batch_size=kwargs.pop("batch_size", 50), **kwargs)


# --- raw points ------------------------------------------------------------------------------


def test_no_raw_point_goes_before_its_hour_is_rolled_up():
    _hourly_gauge(240)

    result = _prune()

    assert (result.points, stored_count()) == (0, 240)


def test_raw_points_go_only_below_the_hourly_watermark():
    _hourly_gauge(240)
    rollup_advance(resolution=HOUR, now_ms=closed(24), max_buckets=1000)

    result = _prune()

    assert result.points == 24
    assert _point_hours() == list(range(24, 240))


def test_raw_points_past_the_raw_retention_go_once_rolled_up_and_their_rollups_stay():
    _hourly_gauge(240)
    roll_up(NOW)

    result = _prune()

    assert result.points == 3 * 24
    assert _point_hours() == list(range(72, 240))
    hours = Rollup.objects.filter(resolution=HOUR).values_list("bucket_start_ms", flat=True)
    assert sorted(hours) == [at(hour) for hour in range(240)]


def test_histogram_and_summary_points_follow_the_raw_retention():
    write(
        histogram("latency_seconds", [0.5], [1, 2], ts_ms=at(1)),
        histogram("latency_seconds", [0.5], [2, 2], ts_ms=at(200)),
        point("rpc_seconds", None, type="summary", count=1, quantiles={"0.5": 1}, ts_ms=at(1)),
        point("rpc_seconds", None, type="summary", count=2, quantiles={"0.5": 1}, ts_ms=at(200)),
    )
    roll_up(NOW)

    result = _prune()

    assert (result.histogram_points, result.summary_points) == (1, 1)
    assert list(HistogramPoint.objects.values_list("ts_ms", flat=True)) == [at(200)]
    assert list(SummaryPoint.objects.values_list("ts_ms", flat=True)) == [at(200)]


def test_a_shorter_raw_retention_takes_effect_on_the_next_prune():
    _hourly_gauge(240)
    roll_up(NOW)
    _retain("metrics.raw", 2)

    _prune()

    assert _point_hours() == list(range(240 - 48, 240))


def test_an_empty_raw_retention_keeps_raw_points_forever():
    _hourly_gauge(240)
    roll_up(NOW)
    _retain("metrics.raw", None)

    result = _prune(NOW + 1000 * DAY_MS)

    assert (result.points, stored_count()) == (0, 240)


# --- rollups ---------------------------------------------------------------------------------


def test_hourly_rollups_go_after_their_retention_once_their_day_is_rolled_up():
    _hourly_gauge(72)
    _retain("metrics.hourly", 1)
    rollup_advance(resolution=HOUR, now_ms=closed(72), max_buckets=1000)
    before_days = _prune(closed(72)).hourly
    rollup_advance(resolution=DAY, now_ms=closed(72), max_buckets=1)  # the first day only

    after_one_day = _prune(closed(72)).hourly
    rollup_advance(resolution=DAY, now_ms=closed(72), max_buckets=10)
    after_all_days = _prune(closed(72)).hourly

    # the cutoff is a day before now, 48 h 5 min in: the hours ending by then go
    assert (before_days, after_one_day, after_all_days) == (0, 24, 48 - 24)
    hours = Rollup.objects.filter(resolution=HOUR).values_list("bucket_start_ms", flat=True)
    assert sorted(hours) == [at(hour) for hour in range(48, 72)]


def test_daily_rollups_go_after_their_retention():
    _hourly_gauge(72)
    roll_up(closed(72))
    _retain("metrics.daily", 1)

    result = _prune(closed(72))

    days = Rollup.objects.filter(resolution=DAY).values_list("bucket_start_ms", flat=True)
    assert (result.daily, list(days)) == (2, [at(48)])


# --- batches and idempotency -----------------------------------------------------------------


def test_a_prune_works_in_bounded_batches_and_the_next_call_goes_on():
    _hourly_gauge(240)
    roll_up(NOW)

    first = _prune(batch_size=10, max_batches=3)
    rest = [_prune(batch_size=10, max_batches=3) for _ in range(3)]

    assert (first.points, first.complete) == (30, False)
    assert sum(result.points for result in rest) == 72 - 30
    assert rest[-1].complete
    assert _point_hours() == list(range(72, 240))


def test_pruning_again_deletes_nothing_more():
    _hourly_gauge(240)
    roll_up(NOW)
    _prune()
    left = stored_count(), Rollup.objects.count(), Series.objects.count()

    again = _prune()

    assert (again.points, again.hourly, again.daily, again.series) == (0, 0, 0, 0)
    assert (stored_count(), Rollup.objects.count(), Series.objects.count()) == left


# --- series ----------------------------------------------------------------------------------

LONG_AFTER = DAY0 + 400 * DAY_MS  # past every default retention of DAY0's data


def _last_seen_on_day0() -> None:
    Series.objects.update(last_seen=datetime.fromtimestamp(DAY0 / 1000, tz=UTC))


def test_a_series_with_nothing_left_goes_and_every_cache_drops_its_id():
    write(gauge("temperature", 1, ts_ms=at(1)))
    roll_up(LONG_AFTER)
    _last_seen_on_day0()
    token = SeriesEpoch.objects.get().token

    result = _prune(LONG_AFTER)

    assert (result.points, result.hourly, result.daily, result.series) == (1, 1, 1, 1)
    assert (Series.objects.count(), SeriesEpoch.objects.get().token != token) == (0, True)


def test_a_series_deleted_by_retention_is_created_again_by_a_later_write():
    write(gauge("temperature", 1, ts_ms=at(1)))  # caches the series id in this process
    roll_up(LONG_AFTER)
    _last_seen_on_day0()
    _prune(LONG_AFTER)

    write(gauge("temperature", 2, ts_ms=LONG_AFTER))

    (series,) = Series.objects.all()
    assert stored("series_id", "value") == [(series.id, 2.0)]


def test_a_series_still_holding_rollups_is_kept():
    write(gauge("temperature", 1, ts_ms=at(1)))
    roll_up(DAY0 + 40 * DAY_MS)
    _last_seen_on_day0()

    result = _prune(DAY0 + 40 * DAY_MS)  # raw and hourly are gone; the daily rollup stays

    assert (result.points, result.hourly, result.series, Series.objects.count()) == (1, 1, 0, 1)


def test_a_series_seen_within_the_raw_retention_is_kept():
    write(gauge("temperature", 1, ts_ms=at(1)))
    roll_up(LONG_AFTER)
    Series.objects.update(last_seen=datetime.fromtimestamp(LONG_AFTER / 1000, tz=UTC))

    result = _prune(LONG_AFTER)

    assert (result.points, result.series, Series.objects.count()) == (1, 0, 1)


def test_a_write_racing_the_deletion_of_its_cached_series_creates_the_series_again(monkeypatch):
    monkeypatch.setattr(services, "LAST_SEEN_RESOLUTION_S", 0)  # every write touches last_seen
    write(gauge("temperature", 1, ts_ms=at(1)))
    # Retention deleting the series between the next write's epoch read and its last_seen
    # update: the process still holds the old id under the epoch it read.
    Series.objects.all().delete()

    write(gauge("temperature", 2, ts_ms=at(2)))

    (series,) = Series.objects.all()
    assert stored("series_id", "value") == [(series.id, 2.0)]


def test_the_watermarks_guard_pruning_of_data_not_yet_rolled_up():
    _hourly_gauge(240)
    rollup_advance(resolution=HOUR, now_ms=closed(100), max_buckets=1000)

    _prune()

    assert (rollup_watermark(HOUR), rollup_watermark(DAY)) == (at(100), None)
    assert _point_hours() == list(range(72, 240))
    assert Rollup.objects.filter(resolution=HOUR).count() == 100
