import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apps.ingest import validation as check
from apps.ingest.validation import ItemError

NOW_NS = 1_764_200_000 * 1_000_000_000


@pytest.mark.parametrize("name", ["http_requests_total", "a:b.c_d", "_x", "X" * 200])
def test_good_metric_names_pass(name):
    assert check.metric_name(name) == name


@pytest.mark.parametrize("name", ["", "1abc", "has space", "x" * 201, "é", None, 3])
def test_bad_metric_names_are_refused(name):
    with pytest.raises(ItemError):
        check.metric_name(name)


def test_labels_are_stringified_and_long_values_truncated_with_a_marker():
    labels = check.labels({"code": 200, "ok": True, "ratio": 0.5, "long": "v" * 5000})

    assert labels["code"] == "200" and labels["ok"] == "true" and labels["ratio"] == "0.5"
    assert len(labels["long"]) == 1024 and labels["long"].endswith("…[truncated]")


def test_more_than_32_labels_are_refused():
    with pytest.raises(ItemError, match="at most 32"):
        check.labels({f"k{i}": "v" for i in range(33)})


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, True, "3", None])
def test_numbers_must_be_finite_numbers(value):
    with pytest.raises(ItemError):
        check.finite(value, "value")


def test_timestamps_outside_the_window_are_refused(settings):
    settings.AIVMON_INGEST_MAX_AGE_S = 3600
    settings.AIVMON_INGEST_MAX_FUTURE_S = 60

    with pytest.raises(ItemError, match="older"):
        check.timestamp_ns(NOW_NS / 1e9 - 3601, "t", clock=check.clock(NOW_NS))
    with pytest.raises(ItemError, match="future"):
        check.timestamp_ns(NOW_NS / 1e9 + 61, "t", clock=check.clock(NOW_NS))
    assert check.timestamp_ns("2025-11-26T23:33:20Z", "t", clock=check.clock(NOW_NS)) == NOW_NS


def test_a_time_without_a_zone_is_refused():
    with pytest.raises(ItemError, match="RFC 3339"):
        check.timestamp_ns("2025-11-26T23:33:20", "t", clock=check.clock(NOW_NS))


@pytest.mark.parametrize("raw", ["4bf92f3577b34da6a3ce929d0e0e473", "zz" * 16, "0" * 32, 12])
def test_bad_trace_ids_are_refused(raw):
    with pytest.raises(ItemError):
        check.hex_id(raw, 32, "trace_id")


def test_hex_ids_are_lower_cased():
    assert (
        check.hex_id("4BF92F3577B34DA6A3CE929D0E0E4736", 32, "t")
        == "4bf92f3577b34da6a3ce929d0e0e4736"
    )


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
        lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
        max_leaves=30,
    )
)
def test_attributes_either_pass_as_json_safe_values_or_are_refused(raw):
    try:
        cleaned = check.attributes({"a": raw})
    except ItemError:
        return
    assert "a" in cleaned
