"""Filters from a search's optional parameters: only the given ones count."""

from apps.core.lookups import given_lookups


def test_only_the_lookups_given_a_value_are_kept():
    lookups = given_lookups(service="api", ts_ns__gte=None, trace_id=None, severity__gte=0)

    assert lookups == {"service": "api", "severity__gte": 0}


def test_falsy_values_other_than_none_are_given():
    assert given_lookups(name="", count=0, flag=False) == {"name": "", "count": 0, "flag": False}


def test_nothing_given_filters_nothing():
    assert given_lookups(a=None) == {}
