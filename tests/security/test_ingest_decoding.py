"""The one-pass security batch decoder against the general per-field checks it short-cuts."""

import gc
import ipaddress
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.ingest import validation as check
from apps.ingest.scrub import BUILTIN_RULES, ScrubRule, ruleset_build
from apps.ingest.security import (
    CANONICAL_IPV4,
    _event_type,
    _method,
    _user_id,
    events_decode,
    gc_paused,
    scrubber,
    source_ip,
)
from apps.ingest.validation import ItemError
from apps.security.constants import ENDPOINT_MAX_LENGTH, USER_AGENT_MAX_LENGTH

NOW = time.time()
CLOCK = check.clock(int(NOW * 1e9))


def _reference(raw: dict, service: str) -> tuple:
    """One item through the general checks, in the order their messages are owed."""
    ts_ns = check.timestamp_ns(raw.get("timestamp"), "timestamp", clock=CLOCK, default_now=True)
    params = check.attributes(raw.get("params"), "params")
    details = check.attributes(raw.get("details"), "details")
    event_type = _event_type(raw.get("event_type"))
    own = raw.get("service")
    return (
        ts_ns / 1e9,
        event_type,
        service[:200] if own is None else check.text(own, "service", 200, required=True),
        _user_id(raw.get("user_id")),
        source_ip(raw.get("source_ip")),
        check.text(raw.get("endpoint"), "endpoint", ENDPOINT_MAX_LENGTH),
        _method(raw.get("method")),
        raw.get("params") or {},
        check.text(raw.get("user_agent"), "user_agent", USER_AGENT_MAX_LENGTH),
        raw.get("details") or {},
        (params, details),
    )


def _decoded(raw: dict, service: str) -> tuple | str:
    batch = events_decode([raw], service=service, clock=CLOCK)
    if batch.errors:
        return batch.errors[0][1]
    e = batch.events[0]
    return (
        e.timestamp,
        e.event_type,
        e.service,
        e.user_id,
        e.source_ip,
        e.endpoint,
        e.method,
        e.params,
        e.user_agent,
        e.details,
        batch.kept[0],
    )


def _expected(raw: dict, service: str) -> tuple | str:
    try:
        return _reference(raw, service)
    except ItemError as exc:
        return str(exc)


_SCALAR = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.sampled_from(["x" * 4097, "Bearer abc", "bob@example.com", "4111 1111 1111 1111"])
)
_JSON = st.recursive(
    _SCALAR,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)
_FIELD_VALUES = {
    "timestamp": st.sampled_from(
        [NOW, NOW - 30, int(NOW) - 5, NOW + 10**7, NOW - 90 * 86400, True, -1, 1e11, "x", "2026"]
    )
    | _JSON,
    "event_type": st.sampled_from(["request", "auth_failure", "", "Bad", "a" * 65, "x.y-z_1"])
    | _JSON,
    "service": st.sampled_from(["svc", "", "s" * 300]) | _JSON,
    "user_id": st.sampled_from(["alice", "u" * 201, 7, True, 2.5]) | _JSON,
    "source_ip": st.sampled_from(
        [
            "10.0.0.1",
            "010.0.0.1",
            " 10.0.0.2",
            "10.0.0.3 ",
            "256.0.0.1",
            "::ffff:1.2.3.4",
            "2001:DB8::1",
            "fe80::1%eth0",
            "\u0661.2.3.4",
            "1.2.3",
            "",
        ]
    )
    | _JSON,
    "endpoint": st.sampled_from(["/login", "/x?id=1' OR 1=1", "e" * 2001]) | _JSON,
    "method": st.sampled_from(["GET", "post", "GET /", "x" * 17, ""]) | _JSON,
    "params": st.dictionaries(st.text(max_size=300), _JSON, max_size=5) | _JSON,
    "user_agent": st.sampled_from(["Mozilla", "u" * 1001]) | _JSON,
    "details": st.dictionaries(st.text(max_size=6), _JSON, max_size=3) | _JSON,
}
_ITEMS = st.fixed_dictionaries({}, optional=_FIELD_VALUES)


@settings(max_examples=150, deadline=None)
@given(raw=_ITEMS)
def test_one_pass_decoding_keeps_and_refuses_what_the_general_checks_do(raw):
    assert _decoded(raw, "api") == _expected(raw, "api")


@given(
    text=st.from_regex(r"\A[0-9]{1,4}(\.[0-9]{1,4}){2,4}\Z")
    | st.text(alphabet="0123456789.: \u0661abcdef", max_size=20)
)
def test_the_ipv4_short_cut_takes_only_what_ipaddress_keeps_unchanged(text):
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        address = None
    unchanged = isinstance(address, ipaddress.IPv4Address) and str(address) == text

    assert bool(CANONICAL_IPV4.fullmatch(text)) == unchanged


@pytest.fixture(scope="module")
def rules():
    return ruleset_build(
        [
            ScrubRule(name=name, kind=kind, pattern=pattern, verify=verify)
            for name, kind, pattern, verify, _ in BUILTIN_RULES
        ]
    )


@settings(max_examples=100, deadline=None)
@given(attrs=st.lists(st.dictionaries(st.text(max_size=10), _JSON, max_size=5), max_size=4))
def test_the_batch_scrubber_scrubs_as_the_rules_do(rules, attrs):
    kept = [check.attributes(one) for one in attrs]
    scrub = scrubber(rules)

    assert [scrub(one) for one in kept] == [rules.attributes(one) for one in kept]


def test_the_garbage_collector_is_held_off_for_a_batch_and_restored_after():
    assert gc.isenabled()
    with gc_paused():
        with gc_paused():  # a second request of the same process
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_collector_switched_off_before_stays_off():
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
