"""Hourly and daily rollups, checked against references computed in Python from the raw points."""

import random
from collections import Counter, defaultdict

import pytest

from apps.metrics.aggregation import slot_upper_bound, value_slot
from apps.metrics.constants import DAY_MS, HOUR_MS, ROLLUP_GRACE_MS
from apps.metrics.models import Rollup, RollupState
from apps.metrics.rollups import rollup_advance, rollup_watermark
from tests.metrics.factories import gauge, histogram, point
from tests.metrics.rollup_support import (
    ALL_FIELDS,
    DAY,
    DAY0,
    HOUR,
    STATS,
    at,
    closed,
    reference,
    roll_up,
    roll_up_one_bucket_at_a_time,
    rows,
    snapshot,
    within,
    write,
)

pytestmark = pytest.mark.django_db

BOUNDS = [0.1, 0.5, 1.0]


def _counter_samples(
    rng: random.Random, count: int, *, reset_at: int, every_min: int = 1
) -> list[tuple[int, float]]:
    """A cumulative counter sampled every `every_min` minutes from DAY0 on, reset once."""
    samples, total = [], 0.0
    for index in range(count):
        total = rng.uniform(0, 3) if index == reset_at else total + rng.uniform(0, 10)
        samples.append((at(0, index * every_min), round(total, 3)))
    return samples


def _mixed_day(rng: random.Random, hours: int) -> dict[str, list[tuple[int, object]]]:
    """Write counters, gauges, raw and pre-aggregated histograms and summaries every 10 minutes
    for `hours` hours; return what was written, by metric name: (ts_ms, value) pairs."""
    written: dict[str, list[tuple[int, object]]] = defaultdict(list)
    counts = [0, 0, 0, 0]
    for minute in range(0, hours * 60, 10):
        ts_ms = at(0, minute)
        counts = [count + rng.randrange(5) for count in counts]
        quantiles = {"0.5": rng.uniform(0, 1), "0.99": rng.uniform(1, 2)}
        values = {
            "requests_total": minute * 2.5 + 1,
            "temperature": rng.uniform(-10, 40),
            "upload_bytes": rng.lognormvariate(8, 2),
        }
        write(
            point("requests_total", values["requests_total"], ts_ms=ts_ms),
            gauge("temperature", values["temperature"], ts_ms=ts_ms),
            point("upload_bytes", values["upload_bytes"], type="histogram", ts_ms=ts_ms),
            histogram("latency_seconds", BOUNDS, list(counts), ts_ms=ts_ms),
            point("rpc_seconds", None, type="summary", count=1, quantiles=quantiles, ts_ms=ts_ms),
        )
        for name, value in [
            *values.items(),
            ("latency_seconds", counts),
            ("rpc_seconds", quantiles),
        ]:
            written[name].append((ts_ms, value))
    return written


def _sketch_of(values: list) -> dict[str, int]:
    return {str(slot): count for slot, count in Counter(map(value_slot, values)).items()}


# --- what an hour holds ----------------------------------------------------------------------


def test_hourly_rollups_match_the_raw_points_of_each_hour():
    rng = random.Random(5)
    counter = _counter_samples(rng, 180, reset_at=100)
    temperature = [(at(0, minute, 30), round(rng.uniform(-5, 50), 2)) for minute in range(180)]
    write(
        *[point("requests_total", value, ts_ms=ts_ms) for ts_ms, value in counter],
        *[gauge("temperature", value, ts_ms=ts_ms) for ts_ms, value in temperature],
    )

    roll_up(closed(3))

    found = rows()
    for name, samples in (("requests_total", counter), ("temperature", temperature)):
        bases = [None, within(samples, at(0), at(1))[-1][1], within(samples, at(1), at(2))[-1][1]]
        expected = {
            (name, at(hour)): pytest.approx(
                reference(within(samples, at(hour), at(hour + 1)), base=bases[hour])
            )
            for hour in range(3)
        }
        assert {key: row for key, row in found.items() if key[0] == name} == expected


def test_the_first_value_of_an_hour_counts_against_the_last_value_before_it():
    write(
        point("requests_total", 10, ts_ms=at(0, 10)),  # a new counter: counts from zero
        point("requests_total", 20, ts_ms=at(0, 40)),
        point("requests_total", 25, ts_ms=at(2, 5)),  # after an hour without samples
        point("requests_total", 5, ts_ms=at(2, 20)),  # reset
        point("requests_total", 8, ts_ms=at(2, 50)),
    )

    roll_up(closed(3))

    increases = {bucket: row["increase"] for (_, bucket), row in rows().items()}
    assert increases == {at(0): 20.0, at(2): 5 + 5 + 3}


def test_the_increase_of_a_delta_counter_is_the_sum_of_its_values():
    write(
        point("requests_total", 3, ts_ms=at(0, 10), temporality="delta"),
        point("requests_total", 4, ts_ms=at(0, 20), temporality="delta"),
        point("requests_total", 2, ts_ms=at(1, 20), temporality="delta"),
    )

    roll_up(closed(2))

    assert [row["increase"] for row in rows().values()] == [7.0, 2.0]


def test_cumulative_histograms_roll_up_to_their_bucket_increases_with_resets():
    write(
        histogram("latency_seconds", BOUNDS, [1, 1, 1, 0], ts_ms=at(0, 10)),  # from zero
        histogram("latency_seconds", BOUNDS, [3, 4, 1, 0], ts_ms=at(0, 40)),
        histogram("latency_seconds", BOUNDS, [5, 4, 2, 1], ts_ms=at(1, 10)),
        histogram("latency_seconds", BOUNDS, [1, 0, 0, 0], ts_ms=at(1, 30)),  # reset
        histogram("latency_seconds", BOUNDS, [2, 1, 0, 0], ts_ms=at(1, 50)),
    )

    roll_up(closed(2))

    found = rows(fields=("histogram", "histogram_last", "count"))
    assert found == {
        ("latency_seconds", at(0)): {
            "histogram": [[BOUNDS, [3, 4, 1, 0]]],
            "histogram_last": [BOUNDS, [3, 4, 1, 0]],
            "count": 0,  # no raw values
        },
        ("latency_seconds", at(1)): {
            "histogram": [[BOUNDS, [2 + 1 + 1, 0 + 0 + 1, 1, 1]]],
            "histogram_last": [BOUNDS, [2, 1, 0, 0]],
            "count": 0,
        },
    }


def test_a_histogram_whose_layout_changes_keeps_one_entry_per_layout():
    write(
        histogram("latency_seconds", BOUNDS, [1, 2, 0, 0], ts_ms=at(0, 10)),
        histogram("latency_seconds", [0.25, 2.0], [4, 1, 0], ts_ms=at(0, 20)),
        histogram("latency_seconds", [0.25, 2.0], [6, 1, 1], ts_ms=at(0, 30)),
    )

    roll_up(closed(1))

    (row,) = rows(fields=("histogram",)).values()
    assert row["histogram"] == [[BOUNDS, [1, 2, 0, 0]], [[0.25, 2.0], [4 + 2, 1, 1]]]


def test_delta_histograms_add_up():
    write(
        histogram("latency_seconds", BOUNDS, [0, 2, 0, 0], ts_ms=at(0, 10), temporality="delta"),
        histogram("latency_seconds", BOUNDS, [1, 0, 0, 3], ts_ms=at(0, 20), temporality="delta"),
    )

    roll_up(closed(1))

    (row,) = rows(fields=("histogram", "histogram_last")).values()
    assert row == {"histogram": [[BOUNDS, [1, 2, 0, 3]]], "histogram_last": None}


def test_summaries_keep_the_sum_and_number_of_each_reported_quantile():
    summary = {"type": "summary", "count": 10}
    write(
        point(
            "rpc_seconds", None, ts_ms=at(0, 1), quantiles={"0.5": 0.25, "0.99": 0.75}, **summary
        ),
        point("rpc_seconds", None, ts_ms=at(0, 2), quantiles={"0.5": 0.5}, **summary),
    )

    roll_up(closed(1))

    (row,) = rows(fields=("summary", "count")).values()
    assert row == {"summary": {"0.5": [0.75, 2], "0.99": [0.75, 1]}, "count": 0}


def test_the_sketch_counts_every_raw_value_in_its_log_bucket():
    rng = random.Random(11)
    values = [rng.lognormvariate(0, 3) for _ in range(300)] + [0.0, -1.5, -1e-3, 3.25, 1e12]
    write(
        *[
            point("upload_bytes", value, type="histogram", ts_ms=at(0, 0, i))
            for i, value in enumerate(values)
        ]
    )

    roll_up(closed(1))

    (row,) = rows(fields=("sketch", "count", "min", "max")).values()
    assert row["sketch"] == {str(slot): n for slot, n in Counter(map(value_slot, values)).items()}
    assert (row["count"], row["min"], row["max"]) == (len(values), -1.5, 1e12)
    assert all(
        slot_upper_bound(value_slot(v) - 1) < v <= slot_upper_bound(value_slot(v)) for v in values
    )


# --- a day, from its hours -------------------------------------------------------------------


def test_a_daily_rollup_matches_the_raw_points_of_its_day():
    written = _mixed_day(random.Random(3), hours=26)

    roll_up(closed(26))

    day = {name: row for (name, _), row in rows(DAY, fields=ALL_FIELDS).items()}
    assert set(rows(DAY)) == {(name, DAY0) for name in written}  # the second day is not over
    first_day = {name: within(samples, at(0), at(24)) for name, samples in written.items()}
    for name in ("requests_total", "temperature", "upload_bytes"):
        assert {field: day[name][field] for field in STATS} == pytest.approx(
            reference(first_day[name])
        )
        assert day[name]["sketch"] == _sketch_of([value for _, value in first_day[name]])
    last_counts = first_day["latency_seconds"][-1][1]  # grew from zero, never reset
    assert day["latency_seconds"]["histogram"] == [[BOUNDS, last_counts]]
    assert day["latency_seconds"]["histogram_last"] == [BOUNDS, last_counts]
    reported = [quantiles for _, quantiles in first_day["rpc_seconds"]]
    assert day["rpc_seconds"]["summary"] == {
        key: [pytest.approx(sum(each[key] for each in reported)), len(reported)]
        for key in ("0.5", "0.99")
    }


def test_a_daily_counter_rollup_handles_a_reset():
    counter = _counter_samples(random.Random(8), 24 * 60 // 7, reset_at=90, every_min=7)
    write(*[point("requests_total", value, ts_ms=ts_ms) for ts_ms, value in counter])

    roll_up(closed(24))

    assert rows(DAY) == {("requests_total", DAY0): pytest.approx(reference(counter))}


def test_a_day_is_rolled_up_only_once_its_last_hour_is():
    write(gauge("temperature", 1, ts_ms=at(0, 30)), gauge("temperature", 2, ts_ms=at(23, 30)))

    roll_up(closed(24) - 1)
    before = rows(DAY)
    roll_up(closed(24))

    assert (before, list(rows(DAY))) == ({}, [("temperature", DAY0)])


# --- how the job moves on --------------------------------------------------------------------


def test_an_hour_is_rolled_up_once_it_ended_the_grace_delay_ago():
    write(gauge("temperature", 1, ts_ms=at(0, 59)))

    early = rollup_advance(resolution=HOUR, now_ms=at(1) + ROLLUP_GRACE_MS - 1, max_buckets=10)
    on_time = rollup_advance(resolution=HOUR, now_ms=at(1) + ROLLUP_GRACE_MS, max_buckets=10)

    assert (early.buckets, on_time.buckets, on_time.watermark_ms) == (0, 1, at(1))


def test_hours_without_data_are_passed_over():
    write(gauge("temperature", 1, ts_ms=at(0, 5)), gauge("temperature", 2, ts_ms=at(5, 5)))

    result = rollup_advance(resolution=HOUR, now_ms=closed(9), max_buckets=10)

    assert (result.rows, result.watermark_ms) == (2, at(9))
    assert list(rows()) == [("temperature", at(0)), ("temperature", at(5))]


def test_max_buckets_bounds_the_work_of_a_call():
    write(*[gauge("temperature", hour, ts_ms=at(hour, 30)) for hour in range(5)])

    first = rollup_advance(resolution=HOUR, now_ms=closed(5), max_buckets=2)
    second = rollup_advance(resolution=HOUR, now_ms=closed(5), max_buckets=2)

    assert (first.buckets, first.watermark_ms) == (2, at(2))
    assert (second.buckets, second.watermark_ms) == (2, at(4))
    assert Rollup.objects.count() == 4


def test_nothing_is_rolled_up_without_data_and_no_progress_is_recorded():
    result = rollup_advance(resolution=HOUR, now_ms=closed(5), max_buckets=10)

    assert (result.buckets, RollupState.objects.count()) == (0, 0)


def test_the_watermark_never_moves_back():
    write(gauge("temperature", 1, ts_ms=at(0, 5)))
    roll_up(closed(8))

    roll_up(closed(2))

    assert rollup_watermark(HOUR) == at(8)


def test_a_point_arriving_after_its_hour_was_rolled_up_stays_out_of_the_rollup():
    write(gauge("temperature", 1, ts_ms=at(0, 5)))
    roll_up(closed(1))

    write(gauge("temperature", 100, ts_ms=at(0, 6)))
    roll_up(closed(2))

    assert rows() == {("temperature", at(0)): {**reference([(0, 1.0)]), "increase": 1.0}}


# --- idempotency -----------------------------------------------------------------------------


def test_rolling_up_twice_changes_nothing():
    _mixed_day(random.Random(1), hours=3)
    roll_up(closed(3))
    first = snapshot()

    again = rollup_advance(resolution=HOUR, now_ms=closed(3), max_buckets=10)

    assert (again.buckets, snapshot()) == (0, first)


def test_rolling_up_the_same_buckets_again_writes_the_same_rows():
    _mixed_day(random.Random(2), hours=27)
    roll_up(closed(27))
    first = snapshot()

    RollupState.objects.all().delete()  # as if the job had crashed before recording progress
    roll_up(closed(27))

    assert snapshot() == first
    assert Rollup.objects.filter(resolution=DAY).count() == 5  # one series each, first day


def test_one_bucket_per_call_ends_with_the_same_rows_as_all_at_once():
    _mixed_day(random.Random(4), hours=27)
    calls = roll_up_one_bucket_at_a_time(closed(27))
    one_by_one = snapshot()

    Rollup.objects.all().delete()
    RollupState.objects.all().delete()
    roll_up(closed(27))

    assert calls == 27 + 1  # every hour, then the one day that is over
    assert snapshot() == one_by_one


def test_the_first_run_starts_at_the_hour_of_the_oldest_point():
    write(gauge("temperature", 1, ts_ms=DAY0 - 40 * DAY_MS + 123))

    result = rollup_advance(resolution=HOUR, now_ms=closed(0), max_buckets=1)

    assert result.watermark_ms == (DAY0 - 40 * DAY_MS) + HOUR_MS
