"""Off-hours activity weighted by risk, and runs of denied or failed operations, on real Redis."""

from collections import Counter, defaultdict
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.security.detectors.base import IP, USER, Event
from apps.security.detectors.behavioral import BehavioralDetector, is_destructive, is_failure
from apps.security.detectors.windows import key
from tests.security.test_shared_windows import event_times, in_batches, reference_counts

BERLIN = ZoneInfo("Europe/Berlin")


def at(local: str) -> float:
    """Seconds since the epoch of a Berlin wall-clock time (2025-01-15 is a Wednesday)."""
    return datetime.fromisoformat(local).replace(tzinfo=BERLIN).timestamp()


def request(t: float, user: str = "alice", n: int = 0, **fields) -> Event:
    fields = {"method": "GET", "endpoint": "/api/orders", **fields}
    return Event(
        t, fields.pop("event_type", "request"), user_id=user, event_id=f"{t}-{n}", **fields
    )


def admin(t: float, **fields) -> Event:
    return request(
        t, event_type="admin_operation", method="POST", endpoint="/admin/users", **fields
    )


def denied(t: float, user: str = "alice", n: int = 0) -> Event:
    return request(t, user=user, n=n, event_type="permission_denied", endpoint="/admin/keys")


def nights(count: int) -> list[Event]:
    """count requests by alice between 22:00 and 22:59 Berlin on Wednesday."""
    return [request(at("2025-01-15T22:00") + 3500 * i / count, n=i) for i in range(count)]


def run_length(found: list) -> int | None:
    """The count a run detection states ("7 denied or failed operations by …"), if any."""
    return next((int(d.reason.split()[0]) for d in found), None)


def off_hours(found: list) -> list[tuple[str, float]]:
    return [(d.kind, d.score) for d in found]


@pytest.fixture
def detector(detector_redis):
    return BehavioralDetector(redis=detector_redis, timezone="Europe/Berlin")


def test_activity_in_business_hours_is_nothing_before_hours_are_learned(detector):
    assert detector.analyse([request(at("2025-01-15T10:00"))]) == [[]]


def test_activity_at_night_before_hours_are_learned_is_low(detector):
    [found] = detector.analyse([request(at("2025-01-15T22:00"))])

    assert [(d.kind, d.score, d.key_type, d.key, d.reason) for d in found] == [
        (
            "off_hours",
            0.3,
            USER,
            "alice",
            "request GET /api/orders by alice at Wed 22:00 Europe/Berlin, outside business hours",
        )
    ]


def test_a_saturday_is_outside_business_hours(detector):
    [found] = detector.analyse([request(at("2025-01-18T11:00"))])

    assert off_hours(found) == [("off_hours", 0.3)]


def test_business_hours_are_read_in_the_configured_timezone(detector_redis):
    utc = BehavioralDetector(redis=detector_redis, timezone="UTC")
    berlin = BehavioralDetector(redis=detector_redis, timezone="Europe/Berlin")
    half_past_seven_utc = at("2025-01-15T08:30")

    assert berlin.analyse([request(half_past_seven_utc, user="bob")]) == [[]]
    assert off_hours(utc.analyse([request(half_past_seven_utc, user="carol")])[0]) == [
        ("off_hours", 0.3)
    ]


def test_an_admin_operation_in_business_hours_is_nothing(detector):
    assert detector.analyse([admin(at("2025-01-15T11:00"))]) == [[]]


def test_an_admin_operation_off_hours_is_medium(detector):
    [found] = detector.analyse([admin(at("2025-01-15T23:10"))])

    assert off_hours(found) == [("off_hours", 0.6)]
    assert found[0].reason.startswith("admin operation POST /admin/users by alice at Wed 23:10")


def test_a_delete_off_hours_is_high(detector):
    events = [
        request(at("2025-01-15T23:10"), method="DELETE", endpoint="/api/projects/7"),
        request(at("2025-01-15T23:11"), method="POST", endpoint="/api/projects/7/purge"),
        admin(at("2025-01-15T23:12"), details={"action": "dropTable"}),
    ]

    found = detector.analyse(events)

    assert [off_hours(f) for f in found] == [[("off_hours", 0.78)]] * 3


def test_words_that_merely_contain_a_destructive_verb_are_not_destructive():
    event = request(0.0, method="GET", endpoint="/api/dropdown-options", details={"action": 3})

    assert is_destructive(event) is False


def test_once_learned_the_users_own_night_hours_are_not_off_hours(detector):
    detector.analyse(nights(60))

    assert detector.analyse([request(at("2025-01-16T22:30"), n=99)]) == [[]]


def test_once_learned_a_rarely_used_hour_is_off_hours_even_in_business_hours(detector):
    detector.analyse([*nights(60), request(at("2025-01-16T10:00"), n=98)])

    [found] = detector.analyse([request(at("2025-01-16T10:15"), n=99)])

    assert off_hours(found) == [("off_hours", 0.4)]
    assert found[0].reason.endswith("an hour alice rarely works (1.6% of 61 events)")


def test_once_learned_an_admin_operation_in_a_rare_hour_is_medium(detector):
    detector.analyse(nights(60))

    [found] = detector.analyse([admin(at("2025-01-16T10:15"))])

    assert off_hours(found) == [("off_hours", 0.6)]


def test_hours_are_learned_in_the_configured_timezone(detector, detector_redis):
    detector.analyse([request(at("2025-01-15T22:30"))])

    assert detector_redis.hgetall(key("bh", "hours", "alice")) == {b"22": b"1"}


def test_five_permission_denials_in_ten_minutes_are_medium_and_ten_are_high(detector):
    found = detector.analyse([denied(at("2025-01-15T11:00") + 30 * i, n=i) for i in range(10)])

    assert [off_hours(found[i]) for i in (3, 4, 9)] == [
        [],
        [("permission_denied_run", 0.55)],
        [("permission_denied_run", 0.78)],
    ]
    assert found[4][0].reason == "5 denied or failed operations by alice in 10 min"


def test_denials_further_apart_than_the_window_do_not_add_up(detector):
    found = detector.analyse([denied(at("2025-01-15T11:00") + 150 * i, n=i) for i in range(5)])

    assert found[-1] == []


@settings(
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(times=event_times(), batch_size=st.integers(1, 6))
def test_run_counts_equal_the_reference_out_of_order(detector_redis, times, batch_size):
    detector_redis.flushdb()
    detector = BehavioralDetector(redis=detector_redis, failure_window_s=300.0)
    events = [denied(t, n=n) for n, t in enumerate(times)]

    found = [f for chunk in in_batches(events, batch_size) for f in detector.analyse(chunk)]

    expected = [n if n >= 5 else None for n in reference_counts(times, 300.0)]
    assert [run_length(f) for f in found] == expected


def test_failed_operations_make_a_run_too(detector):
    t = at("2025-01-15T11:00")
    events = [
        *[request(t + i, n=i, details={"success": False}) for i in range(3)],
        request(t + 3, n=3, details={"status": 500}),
        request(t + 4, n=4, details={"status_code": 404}),
    ]

    found = detector.analyse(events)

    assert off_hours(found[-1]) == [("failed_operations", 0.55)]


def test_a_failure_without_a_user_is_counted_by_ip(detector):
    t = at("2025-01-15T11:00")
    events = [
        Event(t + i, "request", source_ip="192.0.2.9", details={"status": 403}) for i in range(5)
    ]

    found = detector.analyse(events)

    assert [(d.kind, d.key_type, d.key) for d in found[-1]] == [
        ("permission_denied_run", IP, "192.0.2.9")
    ]


def test_what_counts_as_a_failed_operation():
    t = at("2025-01-15T11:00")
    events = [
        denied(t),
        request(t, details={"success": False}),
        request(t, details={"status": 401}),
        request(t, details={"status": 200}),
        request(t, details={"status": True, "success": True}),
        request(t, details={"status": "500"}),
        request(t, event_type="auth_failure", details={"success": False}),
    ]

    assert [is_failure(e) for e in events] == [True, True, True, False, False, False, False]


def test_failed_operations_neither_teach_hours_nor_count_as_off_hours(detector, detector_keys):
    [found] = detector.analyse([denied(at("2025-01-15T23:00"))])

    assert found == []
    assert list(detector_keys()) == ["aivmon:sec:bh:fail:user:alice"]


def test_every_key_has_an_expiry_and_hours_last_thirty_days(detector, detector_keys):
    detector.analyse([request(at("2025-01-15T10:00")), denied(at("2025-01-15T10:01"))])

    keys = detector_keys()
    assert sorted(keys) == ["aivmon:sec:bh:fail:user:alice", "aivmon:sec:bh:hours:alice"]
    assert all(ttl > 0 for ttl in keys.values())
    assert 29 * 86400 < keys["aivmon:sec:bh:hours:alice"] <= 30 * 86400


# Mostly a few habitual hours, so that learned shares pass the rare-hour line both ways.
HOURS = st.one_of(st.sampled_from([3, 10, 10, 22, 22, 22]), st.integers(0, 23))


def reference_off_hours(visits: list[tuple[str, int]], learned_from: int, rare: float) -> list:
    """For each (user, Berlin hour) visit on a Wednesday, whether it is off-hours: judged on the
    user's visits before it, by learned share once there are enough, else by business hours."""
    seen: dict[str, Counter] = defaultdict(Counter)
    judged = []
    for user, hour in visits:
        hours, total = seen[user], sum(seen[user].values())
        learned = total >= learned_from
        judged.append(hours[hour] / total < rare if learned else not 8 <= hour < 19)
        hours[hour] += 1
    return judged


@settings(
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    visits=st.lists(st.tuples(st.sampled_from(["alice", "bob"]), HOURS), max_size=80),
    batch_size=st.integers(1, 30),
)
def test_off_hours_judgements_equal_a_reference_of_learned_hours(
    detector_redis, visits, batch_size
):
    detector_redis.flushdb()
    detector = BehavioralDetector(
        redis=detector_redis, timezone="Europe/Berlin", min_learned_events=10, rare_hour_share=0.1
    )
    events = [
        request(at(f"2025-01-15T{hour:02d}:30"), user=user, n=n)
        for n, (user, hour) in enumerate(visits)
    ]

    found = [f for chunk in in_batches(events, batch_size) for f in detector.analyse(chunk)]

    assert [bool(f) for f in found] == reference_off_hours(visits, 10, 0.1)
