"""Brute force, credential stuffing, password spraying and success after failures, on real Redis."""

import dataclasses
import json
import subprocess
import sys

import pytest
from django.conf import settings
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from apps.security.detectors.base import IP, USER, Event
from apps.security.detectors.brute_force import BruteForceDetector
from tests.security.test_shared_windows import START, event_times, in_batches, reference_counts

PROPERTY = hypothesis_settings(
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
ATTACKER = "203.0.113.7"


def failure(t: float, ip: str = ATTACKER, user: str = "", n: int = 0) -> Event:
    return Event(t, "auth_failure", source_ip=ip, user_id=user, event_id=f"{ip}-{user}-{t}-{n}")


def failures(count: int, ip: str = ATTACKER, user: str = "", t: float = START) -> list[Event]:
    return [failure(t + i, ip, user) for i in range(count)]


def success(t: float, ip: str = ATTACKER, user: str = "alice") -> Event:
    return Event(t, "auth_success", source_ip=ip, user_id=user, event_id=f"ok-{t}")


def severity(score: float) -> str:
    """The lead's default bands of the combined score."""
    bands = [(0.9, "critical"), (0.75, "high"), (0.5, "medium"), (0.3, "low")]
    return next((name for floor, name in bands if score >= floor), "info")


def by_key(found: list, key_type: str) -> list:
    return [(d.kind, severity(d.score)) for d in found if d.key_type == key_type]


@pytest.fixture
def detector(detector_redis):
    return BruteForceDetector(redis=detector_redis)


def test_three_five_and_ten_failures_from_one_ip_are_low_medium_and_high(detector):
    found = detector.analyse(failures(10))

    assert [by_key(found[i], IP) for i in (1, 2, 4, 9)] == [
        [],
        [("brute_force", "low")],
        [("brute_force", "medium")],
        [("brute_force", "high")],
    ]


def test_scores_grow_a_little_with_the_count_but_stay_in_their_band(detector):
    scores = [detector.failure_score(n) for n in (2, 3, 4, 5, 9, 10, 30)]

    assert [severity(s) for s in scores] == [
        "info",
        "low",
        "low",
        "medium",
        "medium",
        "high",
        "high",
    ]
    assert scores == sorted(scores)
    assert max(scores) < 0.9


def test_the_reason_says_how_many_failures_from_where(detector):
    found = detector.analyse(failures(7))

    assert found[-1][0].reason == "7 failed logins from 203.0.113.7 in 5 min"


def test_failures_exactly_one_window_apart_do_not_add_up(detector):
    found = detector.analyse([failure(START), failure(START + 1), failure(START + 300)])

    assert by_key(found[2], IP) == []


def test_failures_for_one_user_are_counted_across_ips(detector):
    events = [failure(START + i, ip=f"198.51.100.{i % 2}", user="alice") for i in range(5)]

    found = detector.analyse(events)

    assert by_key(found[-1], USER) == [("brute_force", "medium")]
    assert found[-1][1].reason == "5 failed logins for alice in 5 min"


def test_an_ip_gets_one_detection_the_strongest(detector):
    events = [failure(START + i, user=f"user{i}") for i in range(6)]

    found = detector.analyse(events)

    assert by_key(found[-1], IP) == [("credential_stuffing", "high")]


def test_one_ip_failing_for_many_users_is_credential_stuffing(detector):
    events = [failure(START + i, user=f"user{i}") for i in range(5)]

    found = detector.analyse(events)

    assert [d for d in found[-1] if d.key_type == IP] == [
        dataclasses.replace(
            found[-1][0],
            kind="credential_stuffing",
            score=0.85,
            key=ATTACKER,
            reason="failed logins for 5 different users from 203.0.113.7 in 5 min",
        )
    ]
    assert by_key(found[3], IP) == [("brute_force", "low")]


def test_one_user_failing_from_many_ips_is_password_spraying(detector):
    events = [failure(START + i, ip=f"198.51.100.{i}", user="alice") for i in range(5)]

    found = detector.analyse(events)

    assert [(d.kind, d.score, d.key) for d in found[-1] if d.key_type == USER] == [
        ("password_spraying", 0.8, "alice")
    ]


def test_a_success_after_three_failures_from_the_ip_is_medium(detector):
    found = detector.analyse([*failures(3, user="alice"), success(START + 10)])

    assert [(d.kind, d.score, d.key_type, d.key) for d in found[-1]] == [
        ("success_after_failures", 0.6, IP, ATTACKER)
    ]
    assert found[-1][0].reason == "successful login from 203.0.113.7 after 3 failed logins in 5 min"


def test_a_success_after_ten_failures_is_high(detector):
    found = detector.analyse([*failures(10), success(START + 20)])

    assert [(d.kind, d.score) for d in found[-1]] == [("success_after_failures", 0.8)]


def test_a_success_after_two_failures_is_nothing(detector):
    found = detector.analyse([*failures(2), success(START + 10)])

    assert found[-1] == []


def test_failures_without_an_event_id_still_count_one_each(detector):
    events = [Event(START + i, "auth_failure", source_ip=ATTACKER) for i in range(3)]

    found = detector.analyse(events)

    assert by_key(found[-1], IP) == [("brute_force", "low")]


def test_other_events_are_ignored(detector, detector_keys):
    found = detector.analyse([Event(START, "request", source_ip=ATTACKER, endpoint="/login")])

    assert found == [[]]
    assert detector_keys() == {}


def test_every_key_has_an_expiry(detector, detector_keys):
    detector.analyse([failure(START, user="alice")])

    keys = detector_keys()
    assert sorted(keys) == [
        "aivmon:sec:bf:ip:203.0.113.7",
        "aivmon:sec:bf:ips:alice",
        "aivmon:sec:bf:pair:203.0.113.7:alice",
        "aivmon:sec:bf:user:alice",
        "aivmon:sec:bf:users:203.0.113.7",
    ]
    assert all(ttl > 0 for ttl in keys.values())


# Two IPs and three users: never credential stuffing or password spraying, so each event's
# IP-keyed score is that of the IP's count and its user-keyed score that of the user's count.
@PROPERTY
@given(
    times=event_times(),
    who=st.lists(
        st.tuples(st.sampled_from(["ip-a", "ip-b"]), st.sampled_from("uvw")),
        min_size=40,
        max_size=40,
    ),
    batch_size=st.integers(1, 6),
)
def test_scores_equal_the_reference_counts_out_of_order(detector_redis, times, who, batch_size):
    detector_redis.flushdb()
    detector = BruteForceDetector(redis=detector_redis)
    events = [
        failure(t, ip, user, n) for n, (t, (ip, user)) in enumerate(zip(times, who, strict=False))
    ]

    found = [f for chunk in in_batches(events, batch_size) for f in detector.analyse(chunk)]

    ip_counts = reference_counts_by(events, lambda e: e.source_ip)
    user_counts = reference_counts_by(events, lambda e: e.user_id)
    expected = [
        (_score_or_none(detector, ip_n), _score_or_none(detector, user_n))
        for ip_n, user_n in zip(ip_counts, user_counts, strict=True)
    ]
    assert [(_score(f, IP), _score(f, USER)) for f in found] == expected


def reference_counts_by(events: list[Event], group) -> list[int]:
    """For each event, the reference window count among the earlier events of its group."""
    counts = []
    for i, event in enumerate(events):
        same = [e.timestamp for e in events[: i + 1] if group(e) == group(event)]
        counts.append(reference_counts(same, 300.0)[-1])
    return counts


def _score_or_none(detector: BruteForceDetector, count: int) -> float | None:
    return round(detector.failure_score(count), 3) or None


def _score(found: list, key_type: str) -> float | None:
    return next((d.score for d in found if d.key_type == key_type), None)


WORKER = """
import dataclasses, json, sys
import redis
from apps.security.detectors.base import Event
from apps.security.detectors.brute_force import BruteForceDetector

detector = BruteForceDetector(redis=redis.Redis.from_url(sys.argv[1]))
for line in sys.stdin:
    [found] = detector.analyse([Event(**json.loads(line))])
    print(json.dumps([dataclasses.asdict(d) for d in found]), flush=True)
"""


@pytest.fixture
def start_worker(redis_server):
    """Start a separate Python process running a BruteForceDetector on the test Redis."""
    started: list[subprocess.Popen] = []

    def start() -> subprocess.Popen:
        argv = [sys.executable, "-c", WORKER, redis_server]
        worker = subprocess.Popen(
            argv, cwd=settings.BASE_DIR, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stdin.close()
        worker.wait(timeout=10)


def analyse_in(worker: subprocess.Popen, event: Event) -> list[dict]:
    worker.stdin.write(json.dumps(dataclasses.asdict(event)) + "\n")
    worker.stdin.flush()
    return json.loads(worker.stdout.readline())


def test_two_worker_processes_share_one_window(start_worker):
    first, second = start_worker(), start_worker()
    turns = [first, second, first, second, first, second]

    found = [analyse_in(worker, failure(START + i)) for i, worker in enumerate(turns)]

    assert [[d["reason"] for d in f] for f in found] == [
        [],
        [],
        ["3 failed logins from 203.0.113.7 in 5 min"],
        ["4 failed logins from 203.0.113.7 in 5 min"],
        ["5 failed logins from 203.0.113.7 in 5 min"],
        ["6 failed logins from 203.0.113.7 in 5 min"],
    ]
    assert [severity(f[0]["score"]) for f in found[2:]] == ["low", "low", "medium", "medium"]
