"""Turning a batch into rows: refusals by index, NUL-free text and JSON."""

import orjson
import pytest

from apps.core.rows import Refused, json_text, jsonb_rows_sql, rows_of, without_nul


def _row(item: int) -> list[int]:
    if item < 0:
        raise Refused(f"{item} is negative")
    return [item, item * 2]


def test_rows_keep_the_good_items_and_name_the_refused_by_index():
    rows, rejected = rows_of([1, -2, 3, -4], _row)

    assert rows == [[1, 2], [3, 6]]
    assert rejected == [(1, "-2 is negative"), (3, "-4 is negative")]


def test_an_error_other_than_a_refusal_is_not_swallowed():
    with pytest.raises(ZeroDivisionError):
        rows_of([0], lambda item: [1 / item])


def test_nul_characters_are_dropped_from_text():
    assert (without_nul("a\x00b\x00"), without_nul("plain")) == ("ab", "plain")


def test_json_text_is_compact_json():
    assert json_text({"a": [1, "x"], "b": None}) == '{"a":[1,"x"],"b":null}'


def test_json_text_drops_nul_from_nested_keys_and_values():
    value = {"k\x00": ["v\x00", {"n": ("t\x00",)}], "ok": 1}

    assert orjson.loads(json_text(value)) == {"k": ["v", {"n": ["t"]}], "ok": 1}


def test_what_json_cannot_hold_is_refused_saying_why():
    with pytest.raises(Refused, match="not JSON-serialisable"):
        json_text({"when": object()})


def test_jsonb_rows_select_each_column_by_position_with_its_cast():
    sql = jsonb_rows_sql(("ts_ns", "body", "attributes"), {"ts_ns": "::bigint"})

    assert sql == (
        "SELECT (e->>0)::bigint, (e->>1), (e->>2) FROM jsonb_array_elements(%s::jsonb) AS e"
    )
