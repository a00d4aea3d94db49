"""Turning a batch handed over by ingest into database rows: refusals, NUL-free text and JSON.

PostgreSQL refuses NUL in text; it is dropped on every database so that both store the same.
"""

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import orjson

Item = TypeVar("Item")
Row = list[Any]


class Refused(ValueError):
    """An item of the batch that cannot be stored; the message says why."""


def rows_of(
    items: Iterable[Item], to_row: Callable[[Item], Row]
) -> tuple[list[Row], list[tuple[int, str]]]:
    """Return the rows `to_row` makes of the items, and (index, why) for each item it refused."""
    rows: list[Row] = []
    rejected: list[tuple[int, str]] = []
    for index, item in enumerate(items):
        try:
            rows.append(to_row(item))
        except Refused as exc:
            rejected.append((index, str(exc)))
    return rows, rejected


def without_nul(value: str) -> str:
    """Return the text with its NUL characters dropped."""
    return value.replace("\x00", "") if "\x00" in value else value


def json_text(value: Any) -> str:
    """Return `value` as JSON text (without NUL characters), or refuse the item."""
    try:
        encoded = orjson.dumps(value)
    except TypeError as exc:
        raise Refused(f"not JSON-serialisable: {exc}") from exc
    if b"\\u0000" in encoded:
        encoded = orjson.dumps(json_without_nul(value))
    return encoded.decode()


def json_without_nul(value: Any) -> Any:
    if isinstance(value, str):
        return without_nul(value)
    if isinstance(value, dict):
        return {without_nul(key): json_without_nul(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_without_nul(item) for item in value]
    return value


def jsonb_rows_sql(columns: tuple[str, ...], casts: dict[str, str]) -> str:
    """Return a SELECT of the rows in one JSON-array parameter (PostgreSQL), cast per column."""
    # The whole batch travels as one parameter: an INSERT ... SELECT writes it in one statement.
    values = ", ".join(f"(e->>{i}){casts.get(column, '')}" for i, column in enumerate(columns))
    return f"SELECT {values} FROM jsonb_array_elements(%s::jsonb) AS e"  # noqa: S608
