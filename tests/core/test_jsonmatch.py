"""Matching query-string values against keys of a JSON column."""

import pytest

from apps.core.jsonmatch import json_candidates, json_keys_match
from apps.logs.models import LogRecord
from apps.logs.services import logs_write
from tests.logs.factories import LogInFactory


@pytest.mark.parametrize(
    ("value", "candidates"),
    [
        ("200", ["200", 200]),
        ("-3", ["-3", -3]),
        ("1.5", ["1.5", 1.5]),
        ("1e3", ["1e3", 1000.0]),
        ("true", ["true", True]),
        ("false", ["false", False]),
        ("GET", ["GET"]),
        ("1e400", ["1e400"]),
        ("nan", ["nan"]),
        ("True", ["True"]),
        ("9" * 19, ["9" * 19, float("9" * 19)]),
    ],
)
def test_a_value_stands_for_itself_and_the_number_or_boolean_it_spells(value, candidates):
    assert json_candidates(value) == candidates


@pytest.fixture
def records(db):
    logs_write(
        logs=[
            LogInFactory(body="number", attributes={"code": 200, "route": "/a"}),
            LogInFactory(body="text", attributes={"code": "200", "route": "/b"}),
            LogInFactory(body="flag", attributes={"code": 404, "retry": True}),
            LogInFactory(body="none", attributes={}),
        ]
    )


def _bodies(wanted: dict[str, list[str]]) -> list[str]:
    matched = json_keys_match(LogRecord.objects.all(), "attributes", wanted)
    return sorted(matched.values_list("body", flat=True))


def test_a_value_matches_the_same_text_and_the_number_it_spells(records):
    assert _bodies({"code": ["200"]}) == ["number", "text"]


def test_any_of_the_values_of_one_key_matches(records):
    assert _bodies({"code": ["404", "500"], "retry": ["true"]}) == ["flag"]


def test_every_key_must_match(records):
    assert _bodies({"code": ["200"], "route": ["/b"]}) == ["text"]


def test_no_keys_wanted_keeps_every_record(records):
    assert _bodies({}) == ["flag", "none", "number", "text"]
