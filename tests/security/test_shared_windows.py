"""The shared sliding windows agree with a plain-list reference on event time, out of order."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.security.detectors.base import Event
from apps.security.detectors.windows import (
    Batch,
    Plan,
    SlidingWindow,
    key,
    member,
    rising,
    run_plans,
)

PROPERTY = settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
WINDOW = SlidingWindow(window_s=300.0, lateness_s=600.0)
START = 1_736_900_000.0
# Steps and lateness that land events exactly on window edges (300 s) and on the lateness limit.
STEPS = st.sampled_from([0.0, 0.5, 1.0, 60.0, 150.0, 299.0, 299.5, 300.0, 300.5, 301.0, 900.0])
LATENESS = st.sampled_from([0.0, 0.0, 0.0, 0.5, 1.0, 150.0, 300.0, 599.5, 600.0])


@st.composite
def event_times(draw, max_size: int = 40) -> list[float]:
    """Arrival-ordered event times, each at most lateness_s behind the newest seen before it."""
    clock, times = START, []
    for step, late in draw(st.lists(st.tuples(STEPS, LATENESS), max_size=max_size)):
        clock += step
        times.append(clock - late)
    return times


def in_batches(items: list, size: int) -> list[list]:
    return [items[at : at + size] for at in range(0, len(items), size)]


def reference_counts(times: list[float], window_s: float) -> list[int]:
    """For each arrival, the events seen so far in (t − window_s, t]."""
    return [sum(t - window_s < s <= t for s in times[: i + 1]) for i, t in enumerate(times)]


def reference_distinct(pairs: list[tuple[str, float]], window_s: float) -> list[int]:
    """For each arrival, the distinct names seen so far in (t − window_s, t]."""
    seen = [
        {name for name, s in pairs[: i + 1] if t - window_s < s <= t}
        for i, (_, t) in enumerate(pairs)
    ]
    return [len(names) for names in seen]


def window_counts(redis, entries: list[tuple[str, str, str, float]], batch_size: int) -> list[int]:
    """Feed (mode, key, member, t) entries in batches; return each entry's count."""
    counts: list[int] = []
    for chunk in in_batches(entries, batch_size):
        batch = Batch(redis)
        at = [batch.windows(WINDOW, t, (mode, k, name)) for mode, k, name, t in chunk]
        replies = batch.run()
        counts += [replies[i][0] for i in at]
    return counts


@PROPERTY
@given(times=event_times(), batch_size=st.integers(1, 6))
def test_window_counts_equal_the_reference_out_of_order_and_on_edges(
    detector_redis, times, batch_size
):
    detector_redis.flushdb()

    entries = [("add", key("test"), f"e{i}", t) for i, t in enumerate(times)]

    counts = window_counts(detector_redis, entries, batch_size)

    assert counts == reference_counts(times, WINDOW.window_s)


@PROPERTY
@given(
    steps=st.lists(st.tuples(st.sampled_from("abcdef"), STEPS), max_size=40),
    batch_size=st.integers(1, 6),
)
def test_distinct_counts_equal_the_reference_in_order(detector_redis, steps, batch_size):
    detector_redis.flushdb()
    pairs = [
        (name, START + sum(step for _, step in steps[: i + 1])) for i, (name, _) in enumerate(steps)
    ]

    entries = [("newest", key("names"), name, t) for name, t in pairs]

    counts = window_counts(detector_redis, entries, batch_size)

    assert counts == reference_distinct(pairs, WINDOW.window_s)


def test_members_older_than_window_plus_lateness_are_pruned(detector_redis):
    entries = [("add", key("test"), name, t) for name, t in [("old", START), ("edge", START + 100)]]
    window_counts(detector_redis, [*entries, ("add", key("test"), "new", START + 1000)], 3)

    assert detector_redis.zrange(key("test"), 0, -1) == [b"edge", b"new"]


def test_counting_alone_adds_nothing(detector_redis):
    entries = [("add", key("test"), "one", START), ("count", key("test"), "", START + 1)]

    assert window_counts(detector_redis, entries, 2) == [1, 1]
    assert detector_redis.zcard(key("test")) == 1


def test_one_call_counts_several_windows(detector_redis):
    batch = Batch(detector_redis)
    at = batch.windows(WINDOW, START, ("add", key("a"), "x"), ("newest", key("b"), "y"))

    assert batch.run()[at] == [1, 1]


def test_window_keys_expire_after_window_lateness_and_an_idle_hour(detector_redis):
    window_counts(detector_redis, [("add", key("test"), "one", START)], 1)

    assert 0 < detector_redis.ttl(key("test")) <= 300 + 600 + 3600


def test_an_empty_batch_makes_no_round_trip(detector_redis):
    assert Batch(detector_redis).run() == []


def test_keys_escape_colons_so_ipv6_parts_cannot_collide():
    assert key("pair", "2001:db8::1", "x") != key("pair", "2001:db8:", ":1:x")
    assert key("ip", "2001:db8::1") == "aivmon:sec:ip:2001%3Adb8%3A%3A1"


def test_an_event_without_an_id_gets_a_fresh_member():
    event = Event(timestamp=START, event_type="auth_failure")

    assert member(event) != member(event)
    assert member(Event(timestamp=START, event_type="x", event_id="abc")) == "abc"


def test_rising_scores_grow_with_the_count_up_to_the_cap():
    scores = [rising(n, 5, base=0.6, step=0.025, cap=0.7) for n in (5, 6, 9, 20)]

    assert scores == [0.6, 0.625, 0.7, 0.7]


def test_after_redis_loses_its_scripts_a_batch_is_counted_once(detector_redis):
    window_counts(detector_redis, [("add", key("test"), "one", START)], 1)
    detector_redis.script_flush()

    counts = window_counts(detector_redis, [("add", key("test"), "two", START + 1)], 1)

    assert counts == [2]
    assert detector_redis.zcard(key("test")) == 2


def test_plans_of_several_batches_share_one_call_and_answer_each_its_own(detector_redis):
    first, second, idle = Batch(detector_redis), Batch(detector_redis), Batch(detector_redis)
    first.windows(WINDOW, START, ("add", key("a"), "x"))
    second.windows(WINDOW, START, ("add", key("a"), "y"), ("add", key("b"), "y"))
    plans = [Plan(batch, lambda replies: replies) for batch in (first, idle, second)]

    assert run_plans(detector_redis, plans) == [[[1]], [], [[2, 1]]]
