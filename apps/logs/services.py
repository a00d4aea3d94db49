"""Writing log records: one transaction and a fixed number of queries per batch.

Rows are plain lists written with one `executemany` (SQLite, then one INSERT ... SELECT that
fills the FTS5 index) or one INSERT ... SELECT over a JSON array (PostgreSQL, whose GIN index
follows by itself). Log records have no natural key, so a re-sent record is stored again.
"""

import re
from dataclasses import dataclass, field
from typing import Any

import orjson
from django.db import connection, transaction

from apps.core.results import WriteResult
from apps.core.rows import Refused, json_text, jsonb_rows_sql, rows_of, without_nul
from apps.core.times import MAX_NS
from apps.logs import fulltext
from apps.logs.constants import (
    SERVICE_MAX_LENGTH,
    SEVERITY_MAX,
    SEVERITY_MIN,
    SEVERITY_TEXT_MAX_LENGTH,
    severity_text_for,
)
from apps.logs.models import LogRecord


@dataclass(slots=True)
class LogIn:
    ts_ns: int
    severity_number: int  # OpenTelemetry 0..24
    severity_text: str
    body: str
    service: str
    attributes: dict[str, Any] = field(default_factory=dict)
    resource: dict[str, Any] = field(default_factory=dict)
    trace_id: str | None = None
    span_id: str | None = None


def logs_write(*, logs: list[LogIn]) -> WriteResult:
    """Store a batch of log records and index their bodies for search, in one transaction."""
    rows, rejected = rows_of(logs, _row)
    if rows:
        with transaction.atomic():
            _insert(rows)
    return WriteResult(accepted=len(rows), rejected=rejected)


# --- Rows ------------------------------------------------------------------------------------

LOG_COLUMNS = (
    "ts_ns",
    "severity_number",
    "severity_text",
    "body",
    "service",
    "attributes",
    "resource",
    "trace_id",
    "span_id",
)
_TRACE_ID = re.compile(r"[0-9a-f]{32}").fullmatch
_SPAN_ID = re.compile(r"[0-9a-f]{16}").fullmatch


def _row(log: LogIn) -> list[Any]:
    """Return the record as a row in LOG_COLUMNS order, JSON columns as JSON text."""
    _check(log)
    severity_text = log.severity_text or severity_text_for(log.severity_number)
    return [
        log.ts_ns,
        log.severity_number,
        without_nul(severity_text)[:SEVERITY_TEXT_MAX_LENGTH],
        without_nul(log.body),
        without_nul(log.service)[:SERVICE_MAX_LENGTH],
        json_text(log.attributes),
        json_text(log.resource),
        log.trace_id or "",
        log.span_id or "",
    ]


def _check(log: LogIn) -> None:
    if not (isinstance(log.ts_ns, int) and 0 <= log.ts_ns <= MAX_NS):
        raise Refused("the timestamp must be epoch nanoseconds")
    if not (
        isinstance(log.severity_number, int) and SEVERITY_MIN <= log.severity_number <= SEVERITY_MAX
    ):
        raise Refused(f"severity_number must be from {SEVERITY_MIN} to {SEVERITY_MAX}")
    if not isinstance(log.body, str):
        raise Refused("the body must be text")
    if log.trace_id and not _TRACE_ID(log.trace_id):
        raise Refused("trace_id must be 32 lower-case hex digits")
    if log.span_id and not _SPAN_ID(log.span_id):
        raise Refused("span_id must be 16 lower-case hex digits")


# --- Inserting -------------------------------------------------------------------------------


def _insert(rows: list[list[Any]]) -> None:
    if connection.vendor == "postgresql":
        _insert_postgresql(rows)
    else:
        _insert_sqlite(rows)


def _insert_sqlite(rows: list[list[Any]]) -> None:
    # One writer at a time (the transaction began IMMEDIATE): the ids past the highest before
    # the insert are this batch's, and the FTS5 index takes their bodies in one statement.
    table, columns = LogRecord._meta.db_table, ", ".join(LOG_COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")  # noqa: S608
        (last_id,) = cursor.fetchone()
        cursor.executemany(
            f"INSERT INTO {table} ({columns})"  # noqa: S608
            f" VALUES ({', '.join(['%s'] * len(LOG_COLUMNS))})",
            rows,
        )
        fulltext.index_after(cursor, last_id)


_PG_CASTS = {
    "ts_ns": "::bigint",
    "severity_number": "::smallint",
    "attributes": "::jsonb",
    "resource": "::jsonb",
}


def _insert_postgresql(rows: list[list[Any]]) -> None:
    table = LogRecord._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({', '.join(LOG_COLUMNS)})"  # noqa: S608
            f" {jsonb_rows_sql(LOG_COLUMNS, _PG_CASTS)}",
            [orjson.dumps(rows).decode()],
        )


# --- Pruning ---------------------------------------------------------------------------------

# Retention bands: below INFO, INFO, WARN and above (DESIGN.md: debug / info / warn+error).
INFO_NUMBER = 9
WARN_NUMBER = 13


def logs_prune(
    *,
    debug_before_ns: int | None,
    info_before_ns: int | None,
    warn_before_ns: int | None,
    limit: int = 5000,
) -> int:
    """Delete up to `limit` records older than their band's cutoff (None keeps the band);
    return how many. Call again until it answers 0."""
    condition, params = _prune_condition(debug_before_ns, info_before_ns, warn_before_ns)
    if not condition:
        return 0
    table = LogRecord._meta.db_table
    chosen = f"SELECT id FROM {table} WHERE {condition} ORDER BY ts_ns LIMIT %s"  # noqa: S608
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(chosen, [*params, limit])
        ids = [row[0] for row in cursor.fetchall()]
        _delete(cursor, ids)
    return len(ids)


def logs_delete(*, ids: list[int]) -> int:
    """Delete the records with these ids (and their full-text entries); return how many."""
    with transaction.atomic(), connection.cursor() as cursor:
        return _delete(cursor, ids)


def _delete(cursor, ids: list[int]) -> int:
    if not ids:
        return 0
    table = LogRecord._meta.db_table
    id_list = _json_ids_sql()
    ids_json = orjson.dumps(ids).decode()
    fulltext.unindex(cursor, id_list, [ids_json])
    cursor.execute(f"DELETE FROM {table} WHERE id IN ({id_list})", [ids_json])  # noqa: S608
    return cursor.rowcount


def _prune_condition(
    debug_before_ns: int | None, info_before_ns: int | None, warn_before_ns: int | None
) -> tuple[str, list[int]]:
    bands = [
        ("severity_number < %s", [INFO_NUMBER], debug_before_ns),
        (
            "severity_number >= %s AND severity_number < %s",
            [INFO_NUMBER, WARN_NUMBER],
            info_before_ns,
        ),
        ("severity_number >= %s", [WARN_NUMBER], warn_before_ns),
    ]
    clauses, params = [], []
    for band, band_params, before_ns in bands:
        if before_ns is not None:
            clauses.append(f"({band} AND ts_ns < %s)")
            params += [*band_params, before_ns]
    return " OR ".join(clauses), params


def _json_ids_sql() -> str:
    """SQL for the members of a JSON array of ids passed as one parameter."""
    if connection.vendor == "postgresql":
        return "SELECT (jsonb_array_elements_text(%s::jsonb))::bigint"
    return "SELECT value FROM json_each(%s)"
