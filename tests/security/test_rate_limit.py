"""Per-minute request rates against a learned baseline, and many-IP floods, on real Redis."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.security.detectors.base import IP, USER, Event
from apps.security.detectors.rate_limit import Minute, RateLimitDetector
from apps.security.detectors.windows import key

MINUTE0 = 1_736_899_980.0  # 2025-01-15 00:13:00 UTC, the start of a minute
M0 = int(MINUTE0 // 60)  # its minute number in bucket keys


def request(t: float, user: str = "alice", ip: str = "198.51.100.1", n: int = 0) -> Event:
    return Event(
        t, "request", user_id=user, source_ip=ip, endpoint="/api/orders", event_id=f"{t}-{n}"
    )


def minute_of_requests(minute: int, count: int, user: str = "alice") -> list[Event]:
    """count requests by user spread over the given minute after MINUTE0."""
    start = MINUTE0 + 60 * minute
    return [request(start + 59 * i / count, user=user, n=i) for i in range(count)]


def learned(minutes: int, per_minute: int, user: str = "alice") -> list[Event]:
    return [e for m in range(minutes) for e in minute_of_requests(m, per_minute, user)]


def flood(minute: int, ips: int, offset: int = 0) -> list[Event]:
    """One anonymous request from each of ips distinct addresses in the given minute."""
    start = MINUTE0 + 60 * minute
    return [
        request(start + i * 50 / ips, user="", ip=f"10.{(offset + i) // 256 % 256}.{i % 256}.9")
        for i in range(ips)
    ]


def severity(score: float) -> str:
    bands = [(0.9, "critical"), (0.75, "high"), (0.5, "medium"), (0.3, "low")]
    return next((name for floor, name in bands if score >= floor), "info")


def kinds(found: list) -> list[tuple[str, str]]:
    return [(d.kind, severity(d.score)) for d in found]


@pytest.fixture
def detector(detector_redis):
    return RateLimitDetector(redis=detector_redis)


def test_the_baseline_is_an_ewma_of_completed_minutes(detector, detector_redis):
    detector.analyse([*minute_of_requests(0, 10), *minute_of_requests(1, 20)])
    detector.analyse(minute_of_requests(2, 1))

    baseline = detector_redis.hgetall(key("rl", "base", USER, "alice", "/api/orders"))
    assert {k: float(v) for k, v in baseline.items()} == {
        b"minute": M0 + 2.0,
        b"count": 1.0,
        b"mean": 13.0,  # 0.7 × 10 + 0.3 × 20
        b"dev": 3.0,  # 0.3 × |20 − 10|
        b"n": 2.0,
    }


def test_a_burst_after_a_learned_baseline_is_medium_then_high(detector):
    detector.analyse(learned(10, 20))

    found = detector.analyse(minute_of_requests(10, 130))

    assert [kinds(found[i]) for i in (59, 60, 119, 120)] == [
        [],
        [("rate_limit", "medium")],
        [("rate_limit", "medium")],
        [("rate_limit", "high")],
    ]
    assert found[60][0].reason == (
        "61 requests to /api/orders from alice this minute (usually about 20)"
    )
    assert (found[60][0].key_type, found[60][0].key) == (USER, "alice")


def test_a_client_learned_at_two_hundred_a_minute_is_not_flagged_at_two_hundred_fifty(detector):
    detector.analyse(learned(10, 200))

    found = detector.analyse(minute_of_requests(10, 250))

    assert found[-1] == []


def test_nothing_is_flagged_at_or_below_the_floor_however_quiet_the_baseline(detector):
    detector.analyse(learned(10, 2))

    found = detector.analyse(minute_of_requests(10, 60))

    assert [f for f in found if f] == []


def test_without_a_baseline_the_floor_decides(detector):
    found = detector.analyse(minute_of_requests(0, 61))

    assert kinds(found[-1]) == [("rate_limit", "medium")]
    assert found[-1][0].reason.endswith("(no baseline yet)")


def test_anonymous_requests_are_counted_per_ip(detector):
    found = detector.analyse(
        [request(MINUTE0 + i / 10, user="", ip="192.0.2.5") for i in range(61)]
    )

    assert [(d.kind, d.key_type, d.key) for d in found[-1]] == [("rate_limit", IP, "192.0.2.5")]


def test_events_with_neither_endpoint_nor_request_type_are_not_counted(detector, detector_keys):
    found = detector.analyse([Event(MINUTE0, "auth_failure", source_ip="192.0.2.5")])

    assert found == [[]]
    assert detector_keys() == {}


def test_many_distinct_ips_on_one_endpoint_is_a_ddos_suspicion(detector):
    detector.analyse([e for m in range(5) for e in flood(m, 10)])

    found = detector.analyse(flood(5, 260))

    raised = [(i, f[0]) for i, f in enumerate(found) if f]
    assert len(raised) == 1  # one suspicion per endpoint and minute, not one per flooding IP
    index, detection = raised[0]
    assert 190 <= index <= 210
    assert (detection.kind, severity(detection.score)) == ("ddos", "medium")
    assert "distinct IPs on /api/orders this minute (usually about 10)" in detection.reason


def test_a_flood_before_any_minute_is_learned_is_not_a_ddos(detector):
    found = detector.analyse(flood(0, 400))

    assert [f for f in found if f] == []


def test_an_endpoint_that_usually_sees_many_ips_is_not_a_ddos(detector):
    detector.analyse([e for m in range(5) for e in flood(m, 300, offset=1000 * m)])

    found = detector.analyse(flood(5, 320))

    assert [f for f in found if f] == []


def test_every_key_has_an_expiry(detector, detector_keys):
    detector.analyse([*minute_of_requests(0, 1), *minute_of_requests(1, 1)])

    keys = detector_keys()
    assert sorted(keys) == [
        "aivmon:sec:rl:base:user:alice:/api/orders",
        "aivmon:sec:rl:ipbase:/api/orders",
        f"aivmon:sec:rl:ips:/api/orders:{M0}",
        f"aivmon:sec:rl:ips:/api/orders:{M0 + 1}",
        f"aivmon:sec:rl:n:user:alice:/api/orders:{M0}",
        f"aivmon:sec:rl:n:user:alice:/api/orders:{M0 + 1}",
    ]
    assert all(ttl > 0 for ttl in keys.values())


def test_a_late_request_counts_in_its_own_minute(detector, detector_redis):
    detector.analyse([*minute_of_requests(0, 3), *minute_of_requests(1, 1)])

    detector.analyse([request(MINUTE0 + 59.5)])

    counts = key("rl", "n", USER, "alice", "/api/orders")
    assert [detector_redis.get(f"{counts}:{m}") for m in (M0, M0 + 1)] == [b"4", b"1"]


# --- the batch script against the per-event script it replaced ---------------------------------

# The detector's script until it ran once a batch: one call an event and key (the reference).
PER_EVENT_SCRIPT = """
local bucket, baseline, member = KEYS[1], KEYS[2], ARGV[5]
local minute, alpha = tonumber(ARGV[1]), tonumber(ARGV[2])
local current
if member == '' then
  current = redis.call('INCR', bucket)
else
  redis.call('PFADD', bucket, member)
  current = redis.call('PFCOUNT', bucket)
end
redis.call('EXPIRE', bucket, ARGV[3])
local state = redis.call('HMGET', baseline, 'minute', 'count', 'mean', 'dev', 'n')
local open, done = tonumber(state[1]), tonumber(state[2]) or 0
local mean, dev, n = tonumber(state[3]) or 0, tonumber(state[4]) or 0, tonumber(state[5]) or 0
if open == nil or minute > open then
  if done > 0 and n == 0 then
    mean = done
  elseif done > 0 then
    dev = (1 - alpha) * dev + alpha * math.abs(done - mean)
    mean = (1 - alpha) * mean + alpha * done
  end
  if done > 0 then n = n + 1 end
  redis.call('HSET', baseline, 'minute', ARGV[1], 'count', current,
             'mean', tostring(mean), 'dev', tostring(dev), 'n', n)
elseif minute == open then
  redis.call('HSET', baseline, 'count', current)
end
redis.call('EXPIRE', baseline, ARGV[4])
return {current, tostring(mean), tostring(dev), n}
"""


class PerEventReference(RateLimitDetector):
    """The detector as it was: the per-event script for every event and key, pipelined."""

    def analyse(self, events):
        pipe = self.redis.pipeline(transaction=False)
        plans = [self._plan(pipe, event) for event in events]
        replies = pipe.execute()
        found = [
            self._judge(event, *(_minute(replies[at]) if at is not None else None for at in plan))
            for event, plan in zip(events, plans, strict=True)
        ]
        return self._one_ddos_per_minute(events, found)

    def _plan(self, pipe, event):
        if event.event_type != "request" and not event.endpoint:
            return None, None
        endpoint, minute = event.endpoint or "-", int(event.timestamp // 60)
        key_type, who = (USER, event.user_id) if event.user_id else (IP, event.source_ip)
        rate = ips = None
        if who:
            scope = (key_type, who, endpoint)
            rate = self._call(pipe, key("rl", "n", *scope), key("rl", "base", *scope), minute, "")
        if event.source_ip:
            buckets, baseline = key("rl", "ips", endpoint), key("rl", "ipbase", endpoint)
            ips = self._call(pipe, buckets, baseline, minute, event.source_ip)
        return rate, ips

    def _call(self, pipe, buckets, baseline, minute, member):
        keys, ttls = (f"{buckets}:{minute}", baseline), (self.bucket_ttl_s, self.baseline_ttl_s)
        pipe.eval(PER_EVENT_SCRIPT, 2, *keys, minute, self.alpha, *ttls, member)
        return len(pipe) - 1


def _minute(reply) -> Minute:
    current, mean, dev, samples = reply
    return Minute(int(current), float(mean), float(dev), int(samples))


def redis_state(redis) -> dict:
    """Every detector key's value (HyperLogLogs as their bytes) and whether it expires."""
    state = {}
    for name in sorted(redis.scan_iter(match="aivmon:sec:*")):
        kind = redis.type(name)
        if ":ips:" in name.decode():
            redis.pfcount(name)  # caches the count in the header, as every PFCOUNT call did
        value = redis.hgetall(name) if kind == b"hash" else redis.get(name)
        state[name] = (value, redis.ttl(name) > 0)
    return state


STREAM = st.lists(
    st.tuples(
        st.sampled_from([0.0, 0.5, 1.0, 2.0, 4.0, 30.0, 61.0]),  # step of the clock
        st.sampled_from([0.0, 0.0, 0.0, 20.0, 65.0, 300.0]),  # lateness
        st.sampled_from(["alice", "alice", "bob", ""]),
        st.integers(0, 12),  # which IP
        st.sampled_from(["/api/orders", "/login", ""]),
        st.sampled_from(["request", "request", "auth_failure"]),
    ),
    min_size=20,
    max_size=100,
)


@settings(
    max_examples=120,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(steps=STREAM, batch_size=st.integers(1, 25), min_samples=st.sampled_from([0, 1, 3]))
def test_the_batch_script_answers_and_stores_what_the_per_event_script_did(
    detector_redis, steps, batch_size, min_samples
):
    clock, events = MINUTE0, []
    for n, (step, late, user, ip, endpoint, kind) in enumerate(steps):
        clock += step
        source = f"198.51.100.{ip}" if ip else ""
        events.append(
            Event(
                clock - late,
                kind,
                user_id=user,
                source_ip=source,
                endpoint=endpoint,
                event_id=str(n),
            )
        )
    # Small thresholds, so that short streams reach bursts and floods.
    limits = {
        "floor_per_min": 2,
        "medium_devs": 1.0,
        "high_devs": 2.0,
        "ddos_min_ips": 3,
        "ddos_baseline_factor": 1.5,
        "ddos_min_samples": min_samples,
    }
    runs = []
    for detector_class in (RateLimitDetector, PerEventReference):
        detector_redis.flushdb()
        detector = detector_class(redis=detector_redis, **limits)
        found = [
            f
            for at in range(0, len(events), batch_size)
            for f in detector.analyse(events[at : at + batch_size])
        ]
        runs.append((found, redis_state(detector_redis)))

    assert runs[0] == runs[1]
