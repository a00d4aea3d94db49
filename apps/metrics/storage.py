"""Raw SQL of the write path: one statement per step whatever the batch size.

The ORM's per-object overhead (and bulk_create's split into batches of 999 parameters on
SQLite) stays off the hot path; on SQLite, point rows go in with one multi-row INSERT
(apps.core.inserts). Every statement is valid on SQLite ≥ 3.24 and PostgreSQL; where the two
differ (a list passed as one parameter, bulk inserts), the vendor picks the fragment.
A list travels as ONE parameter (a JSON array read by json_each on SQLite, an array on
PostgreSQL), so no statement ever meets a limit on the number of parameters.
"""

# ruff: noqa: S608 - statements are built from table names and fixed fragments; values are
# always parameters.

import secrets
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import orjson
from django.db import connection
from django.db.backends.utils import CursorWrapper

from apps.core.inserts import insert_skipping_conflicts
from apps.metrics.models import HistogramPoint, Series, SeriesEpoch, SummaryPoint

EPOCH_ID = 1
SERIES_COLUMNS = (
    "name",
    "type",
    "temporality",
    "unit",
    "service",
    "labels",
    "labels_text",
    "fingerprint",
    "first_seen",
    "last_seen",
)


def table_name(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def in_list(column: str) -> str:
    """`column` is one of the values of the single list parameter (see `list_param`)."""
    if is_postgres():
        return f"{column} = ANY(%s)"
    return f"{column} IN (SELECT value FROM json_each(%s))"


def list_param(values: Sequence) -> list | str:
    return list(values) if is_postgres() else orjson.dumps(list(values)).decode()


def _json_placeholder() -> str:
    return "CAST(%s AS jsonb)" if is_postgres() else "%s"


def timestamp_param(moment: datetime) -> Any:
    """Return `moment` as the database driver takes it (text on SQLite)."""
    return connection.ops.adapt_datetimefield_value(moment)


def epoch_token(cursor: CursorWrapper) -> str:
    """Return the series epoch token, creating it (race-free) on first use."""
    select = f"SELECT token FROM {table_name(SeriesEpoch)} WHERE id = %s"
    cursor.execute(select, [EPOCH_ID])
    row = cursor.fetchone()
    if row is not None:
        return row[0]
    cursor.execute(
        f"INSERT INTO {table_name(SeriesEpoch)} (id, token) VALUES (%s, %s) "
        "ON CONFLICT (id) DO NOTHING",
        [EPOCH_ID, secrets.token_hex(16)],
    )
    cursor.execute(select, [EPOCH_ID])
    return cursor.fetchone()[0]


def epoch_rotate() -> None:
    """Give the epoch a new token, so that every process drops its cached series ids."""
    SeriesEpoch.objects.update_or_create(id=EPOCH_ID, defaults={"token": secrets.token_hex(16)})


def series_by_fingerprints(
    cursor: CursorWrapper, fingerprints: Sequence[str]
) -> list[tuple[int, str, str, str]]:
    """Return (id, fingerprint, type, name) of the series that exist among `fingerprints`."""
    cursor.execute(
        f"SELECT id, fingerprint, type, name FROM {table_name(Series)} "
        f"WHERE {in_list('fingerprint')}",
        [list_param(fingerprints)],
    )
    return cursor.fetchall()


def series_counts(cursor: CursorWrapper, names: Iterable[str]) -> dict[str, int]:
    """Return how many series each of `names` has (0 for a name without any)."""
    wanted = list(names)
    cursor.execute(
        f"SELECT name, COUNT(*) FROM {table_name(Series)} WHERE {in_list('name')} GROUP BY name",
        [list_param(wanted)],
    )
    counts = dict.fromkeys(wanted, 0)
    counts.update(dict(cursor.fetchall()))
    return counts


def series_insert(cursor: CursorWrapper, rows: Sequence[tuple]) -> None:
    """Insert series rows (SERIES_COLUMNS order, labels as JSON text); existing ones stay."""
    placeholders = ["%s"] * len(SERIES_COLUMNS)
    placeholders[SERIES_COLUMNS.index("labels")] = _json_placeholder()
    columns = ", ".join(map(connection.ops.quote_name, SERIES_COLUMNS))
    cursor.executemany(
        f"INSERT INTO {table_name(Series)} ({columns}) "
        f"VALUES ({', '.join(placeholders)}) ON CONFLICT (fingerprint) DO NOTHING",
        rows,
    )


def series_touch(cursor: CursorWrapper, ids: Sequence[int], seen: datetime) -> int:
    """Set last_seen of the series `ids` (sorted, so that concurrent updates lock in one order);
    return how many exist."""
    cursor.execute(
        f"UPDATE {table_name(Series)} SET last_seen = %s WHERE {in_list('id')}",
        [timestamp_param(seen), list_param(sorted(ids))],
    )
    return cursor.rowcount


def histogram_points_insert(cursor: CursorWrapper, rows: Sequence[tuple]) -> None:
    """Insert (series_id, ts_ms, count, sum, bounds JSON, bucket_counts JSON) rows."""
    json = _json_placeholder()
    _insert(
        cursor,
        f"INSERT INTO {table_name(HistogramPoint)} "
        "(series_id, ts_ms, count, sum, bounds, bucket_counts)",
        f"(%s, %s, %s, %s, {json}, {json})",
        rows,
    )


def summary_points_insert(cursor: CursorWrapper, rows: Sequence[tuple]) -> None:
    """Insert (series_id, ts_ms, count, sum, quantiles JSON) rows."""
    _insert(
        cursor,
        f"INSERT INTO {table_name(SummaryPoint)} (series_id, ts_ms, count, sum, quantiles)",
        f"(%s, %s, %s, %s, {_json_placeholder()})",
        rows,
    )


def _insert(cursor: CursorWrapper, head: str, row_sql: str, rows: Sequence[tuple]) -> None:
    """Insert rows of a point table; a row already stored is left as it is."""
    tail = "ON CONFLICT (series_id, ts_ms) DO NOTHING"
    if is_postgres():
        cursor.executemany(f"{head} VALUES {row_sql} {tail}", rows)
    else:
        insert_skipping_conflicts(cursor, head, row_sql, tail, rows)
