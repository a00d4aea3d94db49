"""Writing spans: one transaction and a fixed number of queries per batch, whatever its size.

The hot path stays off the ORM's per-object machinery: rows are plain lists, written with one
multi-row INSERT (SQLite, apps.core.inserts) or one INSERT ... SELECT over a JSON array
(PostgreSQL). A re-sent span is stored once (unique trace_id + span_id, ON CONFLICT DO
NOTHING), and only the spans that were new are folded into their traces' summaries
(apps.traces.summaries), so each span is counted once.
"""

import re
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

import orjson
from django.db import connection, transaction
from django.db.models import Q

from apps.core.inserts import insert_skipping_conflicts
from apps.core.results import WriteResult
from apps.core.rows import Refused, json_text, jsonb_rows_sql, rows_of, without_nul
from apps.core.times import MAX_NS
from apps.traces.constants import (
    NAME_MAX_LENGTH,
    SERVICE_MAX_LENGTH,
    SPAN_COLUMNS,
    SPAN_KINDS,
    SPAN_STATUSES,
)
from apps.traces.models import Span, TraceSummary
from apps.traces.summaries import NEW_SPAN_COLUMNS, NewSpan, summaries_fold


@dataclass(slots=True)
class SpanIn:
    trace_id: str  # 32 lower-case hex
    span_id: str  # 16 lower-case hex
    parent_span_id: str | None
    service: str
    name: str
    kind: str  # one of SPAN_KINDS
    start_ns: int  # epoch nanoseconds
    end_ns: int  # >= start_ns
    status: str  # one of SPAN_STATUSES
    status_message: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)  # [{"name","time_ns","attributes"}]
    resource: dict[str, Any] = field(default_factory=dict)


def spans_write(*, spans: list[SpanIn]) -> WriteResult:
    """Store a batch of spans and bring their traces' summaries up to date, in one transaction."""
    rows, rejected = rows_of(spans, _Rows())
    if rows:
        # One order for every batch, so that concurrent batches take row locks without deadlock.
        rows.sort(key=lambda row: (row[0], row[1]))
        with transaction.atomic():
            new_spans = _insert_new_spans(rows)
            if new_spans:
                summaries_fold(new_spans)
    return WriteResult(accepted=len(rows), rejected=rejected)


# --- Rows ------------------------------------------------------------------------------------

_TRACE_ID = re.compile(r"[0-9a-f]{32}").fullmatch
_SPAN_ID = re.compile(r"[0-9a-f]{16}").fullmatch
_STATUSES = frozenset(SPAN_STATUSES)


class _Rows:
    """Spans → rows in SPAN_COLUMNS order, JSON columns as JSON text. The spans of a resource
    share its attributes: they are written as JSON once."""

    def __init__(self) -> None:
        self._resources: dict[int, tuple[Any, str]] = {}

    def __call__(self, span: SpanIn) -> list[Any]:
        _check(span)
        return [
            span.trace_id,
            span.span_id,
            span.parent_span_id or "",
            without_nul(span.service)[:SERVICE_MAX_LENGTH],
            without_nul(span.name)[:NAME_MAX_LENGTH],
            span.kind,
            span.start_ns,
            span.end_ns,
            (span.end_ns - span.start_ns) / 1e6,
            span.status,
            without_nul(span.status_message),
            json_text(span.attributes),
            json_text(span.events) if span.events else "[]",
            self._resource(span.resource),
        ]

    def _resource(self, resource: dict[str, Any]) -> str:
        known = self._resources.get(id(resource))
        if known is None or known[0] is not resource:
            known = self._resources[id(resource)] = (resource, json_text(resource))
        return known[1]


def _check(span: SpanIn) -> None:
    if not (_TRACE_ID(span.trace_id) and _SPAN_ID(span.span_id)):
        raise Refused("trace_id and span_id must be 32 and 16 lower-case hex digits")
    if span.parent_span_id and not _SPAN_ID(span.parent_span_id):
        raise Refused("parent_span_id must be 16 lower-case hex digits")
    if span.kind not in SPAN_KINDS:
        raise Refused(f"unknown span kind {span.kind!r}")
    if span.status not in _STATUSES:
        raise Refused(f"unknown span status {span.status!r}")
    if not (
        isinstance(span.start_ns, int)
        and isinstance(span.end_ns, int)
        and 0 <= span.start_ns <= span.end_ns <= MAX_NS
    ):
        raise Refused("start and end must be epoch nanoseconds with end >= start")


# --- Inserting -------------------------------------------------------------------------------


def _insert_new_spans(rows: list[list[Any]]) -> list[NewSpan]:
    """Insert the rows, skipping spans already stored; return the spans that were new."""
    if connection.vendor == "postgresql":
        return _insert_new_spans_postgresql(rows)
    return _insert_new_spans_sqlite(rows)


def _insert_new_spans_sqlite(rows: list[list[Any]]) -> list[NewSpan]:
    # SQLite has one writer at a time (the transaction began IMMEDIATE), so the rows past the
    # highest id before the insert are exactly the ones this insert stored. (Were it DEFERRED,
    # a writer slipping in between would make the insert fail with SQLITE_BUSY, not miscount.)
    # When every row was new, they are the batch's own rows, and need not be read back.
    table, columns = Span._meta.db_table, ", ".join(SPAN_COLUMNS)
    placeholders = ", ".join(["%s"] * len(SPAN_COLUMNS))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")  # noqa: S608
        (last_id,) = cursor.fetchone()
        inserted = insert_skipping_conflicts(
            cursor,
            f"INSERT INTO {table} ({columns})",
            f"({placeholders})",
            "ON CONFLICT (trace_id, span_id) DO NOTHING",
            rows,
        )
        if inserted == len(rows):
            return list(map(_new_span, rows))
        cursor.execute(
            f"SELECT {', '.join(NEW_SPAN_COLUMNS)} FROM {table} WHERE id > %s",  # noqa: S608
            [last_id],
        )
        return cursor.fetchall()


_new_span = itemgetter(*(SPAN_COLUMNS.index(column) for column in NEW_SPAN_COLUMNS))


_PG_CASTS = {
    "start_ns": "::bigint",
    "end_ns": "::bigint",
    "duration_ms": "::double precision",
    "attributes": "::jsonb",
    "events": "::jsonb",
    "resource": "::jsonb",
}


def _insert_new_spans_postgresql(rows: list[list[Any]]) -> list[NewSpan]:
    # One statement for the whole batch: the rows travel as one JSON array, and RETURNING names
    # the spans stored by this statement (a concurrent duplicate waits, then is skipped).
    table = Span._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({', '.join(SPAN_COLUMNS)})"  # noqa: S608
            f" {jsonb_rows_sql(SPAN_COLUMNS, _PG_CASTS)}"
            " ON CONFLICT (trace_id, span_id) DO NOTHING"
            f" RETURNING {', '.join(NEW_SPAN_COLUMNS)}",
            [orjson.dumps(rows).decode()],
        )
        return cursor.fetchall()


# --- Pruning ---------------------------------------------------------------------------------

PRUNE_MAX_TRACES = 10_000  # trace ids go to the database as parameters: stay well inside limits


def traces_prune(*, before_ns: int | None, error_before_ns: int | None, limit: int = 1000) -> int:
    """Delete up to `limit` traces (spans and summary) that started before their cutoff: traces
    with an error keep until `error_before_ns` (None keeps them). Return how many; call again
    until it answers 0."""
    old = Q()
    if before_ns is not None:
        old |= Q(start_ns__lt=before_ns, error_count=0)
    if error_before_ns is not None:
        old |= Q(start_ns__lt=error_before_ns, error_count__gt=0)
    if not old:
        return 0
    limit = min(limit, PRUNE_MAX_TRACES)
    with transaction.atomic():
        trace_ids = list(
            TraceSummary.objects.filter(old)
            .order_by("start_ns")
            .values_list("trace_id", flat=True)[:limit]
        )
        Span.objects.filter(trace_id__in=trace_ids).delete()
        TraceSummary.objects.filter(trace_id__in=trace_ids).delete()
    return len(trace_ids)
