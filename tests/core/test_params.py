"""The shared query-string readers: times, text and `attr.<key>=<value>` filters."""

import pytest
from django.http import QueryDict
from rest_framework.exceptions import ValidationError

from apps.core.params import (
    MAX_ATTR_FILTERS,
    attribute_filters,
    epoch_ns,
    text,
    time_ns,
    time_range_ns,
)
from apps.core.times import MAX_NS

S = 1_000_000_000


def _query(**params: str) -> QueryDict:
    query = QueryDict(mutable=True)
    query.update(params)
    return query


def _field_of(error: pytest.ExceptionInfo[ValidationError]) -> list[str]:
    detail = error.value.detail
    assert isinstance(detail, dict)
    return list(detail)


@pytest.mark.parametrize(
    ("raw", "ns"),
    [
        ("0", 0),
        ("1764200000", 1_764_200_000 * S),
        ("1764200000.5", 1_764_200_000 * S + S // 2),
        ("1.5e3", 1_500 * S),
        (".000000001", 1),
        ("2025-11-26T23:33:20Z", 1_764_200_000 * S),
        ("2025-11-26T23:33:20", 1_764_200_000 * S),
        ("2025-11-27T00:33:20+01:00", 1_764_200_000 * S),
        ("2025-11-26T23:33:20.123456Z", 1_764_200_000 * S + 123_456_000),
    ],
)
def test_a_time_is_epoch_seconds_or_rfc_3339_in_utc_unless_an_offset_says(raw, ns):
    assert epoch_ns(raw) == ns


@pytest.mark.parametrize("raw", ["yesterday", "", "1e99999999999999999999", "9" * 30, "nan"])
def test_what_is_no_time_reads_as_none(raw):
    assert epoch_ns(raw) is None


def test_a_time_parameter_is_read_in_epoch_ns_around_its_blanks():
    assert time_ns(_query(start=" 10 "), "start") == 10 * S


def test_an_absent_or_empty_time_parameter_is_none():
    assert (time_ns(_query(), "start"), time_ns(_query(start=""), "start")) == (None, None)


@pytest.mark.parametrize("raw", ["soon", "-5", str(MAX_NS // S + 1), "1800-01-01T00:00:00Z"])
def test_a_time_outside_1970_to_2262_is_a_400_naming_the_parameter(raw):
    with pytest.raises(ValidationError) as error:
        time_ns(_query(start=raw), "start")

    assert _field_of(error) == ["start"]


def test_a_time_range_reads_start_and_end():
    assert time_range_ns(_query(start="10", end="20")) == (10 * S, 20 * S)


def test_a_time_range_may_be_open_on_either_side():
    assert time_range_ns(_query(end="20")) == (None, 20 * S)


def test_an_end_before_the_start_is_a_400_naming_end():
    with pytest.raises(ValidationError) as error:
        time_range_ns(_query(start="30", end="20"))

    assert _field_of(error) == ["end"]


def test_text_is_none_when_absent_or_empty():
    assert (text(_query(), "service"), text(_query(service=""), "service")) == (None, None)


def test_text_with_a_nul_character_is_a_400():
    with pytest.raises(ValidationError) as error:
        text(_query(service="a\x00b"), "service")

    assert _field_of(error) == ["service"]


def test_attribute_filters_gather_every_value_of_each_key():
    query = QueryDict("attr.http.status_code=200&attr.http.status_code=404&attr.k8s/pod=p-1&q=x")

    assert attribute_filters(query) == {
        "http.status_code": ["200", "404"],
        "k8s/pod": ["p-1"],
    }


@pytest.mark.parametrize("param", ["attr.", "attr.bad key", 'attr.a"b', "attr." + "k" * 201])
def test_a_malformed_attribute_key_is_a_400_naming_the_parameter(param):
    with pytest.raises(ValidationError) as error:
        attribute_filters(_query(**{param: "1"}))

    assert _field_of(error) == [param]


def test_an_attribute_value_with_a_nul_character_is_a_400():
    with pytest.raises(ValidationError) as error:
        attribute_filters(_query(**{"attr.route": "/a\x00"}))

    assert _field_of(error) == ["attr.route"]


def test_too_many_attribute_filters_are_a_400_naming_attr():
    query = _query(**{f"attr.k{i}": "v" for i in range(MAX_ATTR_FILTERS + 1)})

    with pytest.raises(ValidationError) as error:
        attribute_filters(query)

    assert _field_of(error) == ["attr"]
