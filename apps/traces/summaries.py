"""Keeping trace summaries current as spans arrive (called by the span writer, in its transaction).

Only spans that were new are folded in, so a re-sent span is counted once. A batch's traces
are handled with at most three statements, whatever their number:

- PostgreSQL: insert a summary for every trace, computed from its new spans, skipping those
  that exist (ON CONFLICT DO NOTHING ... RETURNING tells which were created); lock the rest
  (SELECT ... FOR UPDATE, in trace id order), fold the new spans in, write them back. The lock
  also waits for a concurrent batch that is creating the same summary, so none is lost.
- SQLite (one writer at a time): read the existing summaries, fold, then insert the new ones
  and update the others, each with one executemany.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import orjson
from django.db import connection

from apps.traces.constants import ERROR_STATUSES
from apps.traces.models import TraceSummary

# What the summaries need of each new span, in this order (the span writer returns these).
NEW_SPAN_COLUMNS = (
    "trace_id",
    "span_id",
    "parent_span_id",
    "service",
    "name",
    "start_ns",
    "end_ns",
    "status",
)
NewSpan = tuple[str, str, str, str, str, int, int, str]

SUMMARY_COLUMNS = (
    "root_span_id",
    "root_service",
    "root_name",
    "root_has_parent",
    "root_start_ns",
    "start_ns",
    "end_ns",
    "span_count",
    "error_count",
    "services",
)
# Every column written, in this order: trace_id, then duration_ms, then SUMMARY_COLUMNS.
ROW_COLUMNS = ("trace_id", "duration_ms", *SUMMARY_COLUMNS)


@dataclass(slots=True)
class Summary:
    root_span_id: str = ""
    root_service: str = ""
    root_name: str = ""
    root_has_parent: bool = True
    root_start_ns: int = 0
    start_ns: int = 0
    end_ns: int = 0
    span_count: int = 0
    error_count: int = 0
    services: list[str] = field(default_factory=list)

    def add(self, span: NewSpan) -> None:
        """Count one new span: widen the time range, and take it as root if it ranks first."""
        _, span_id, parent_span_id, service, name, start_ns, end_ns, status = span
        first = self.span_count == 0
        self.start_ns = start_ns if first else min(self.start_ns, start_ns)
        self.end_ns = end_ns if first else max(self.end_ns, end_ns)
        self.span_count += 1
        self.error_count += status in ERROR_STATUSES
        if service not in self.services:
            self.services.append(service)
        # The root is the parentless span; until one arrives, the earliest span stands in.
        rank = (bool(parent_span_id), start_ns, span_id)
        if first or rank < (self.root_has_parent, self.root_start_ns, self.root_span_id):
            self.root_has_parent, self.root_start_ns, self.root_span_id = rank
            self.root_service, self.root_name = service, name

    def row(self, trace_id: str) -> list[Any]:
        """The summary's values in ROW_COLUMNS order (services as a sorted list)."""
        self.services.sort()
        values = [getattr(self, column) for column in SUMMARY_COLUMNS]
        return [trace_id, (self.end_ns - self.start_ns) / 1e6, *values]


def summaries_fold(new_spans: list[NewSpan]) -> None:
    """Fold newly stored spans into their traces' summaries, creating those that are missing."""
    by_trace: dict[str, list[NewSpan]] = defaultdict(list)
    for span in new_spans:
        by_trace[span[0]].append(span)
    if connection.vendor == "postgresql":
        _fold_postgresql(by_trace)
    else:
        _fold_sqlite(by_trace)


def _folded(spans: list[NewSpan], summary: Summary | None = None) -> Summary:
    summary = summary or Summary()
    for span in spans:
        summary.add(span)
    return summary


# --- PostgreSQL ------------------------------------------------------------------------------

_PG_TYPES = {
    "trace_id": "text",
    "duration_ms": "double precision",
    "root_span_id": "text",
    "root_service": "text",
    "root_name": "text",
    "root_has_parent": "boolean",
    "root_start_ns": "bigint",
    "start_ns": "bigint",
    "end_ns": "bigint",
    "span_count": "integer",
    "error_count": "integer",
}
_TABLE = TraceSummary._meta.db_table


def _fold_postgresql(by_trace: dict[str, list[NewSpan]]) -> None:
    trace_ids = sorted(by_trace)  # one lock order for every batch: no deadlock
    created = _insert_missing_postgresql([_folded(by_trace[t]).row(t) for t in trace_ids])
    existing = [trace_id for trace_id in trace_ids if trace_id not in created]
    if not existing:
        return
    summaries = _locked_postgresql(existing)
    rows = [_folded(by_trace[t], summaries[t]).row(t) for t in existing]
    _update_postgresql(rows)


def _insert_missing_postgresql(rows: list[list[Any]]) -> set[str]:
    columns = ", ".join(ROW_COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {_TABLE} ({columns}) SELECT {columns} FROM ({_pg_rows_sql()}) AS new"  # noqa: S608
            " ON CONFLICT (trace_id) DO NOTHING RETURNING trace_id",
            [orjson.dumps(rows).decode()],
        )
        return {trace_id for (trace_id,) in cursor.fetchall()}


def _locked_postgresql(trace_ids: list[str]) -> dict[str, Summary]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT trace_id, {', '.join(SUMMARY_COLUMNS)} FROM {_TABLE}"  # noqa: S608
            " WHERE trace_id IN (SELECT jsonb_array_elements_text(%s::jsonb))"
            " ORDER BY trace_id FOR UPDATE",
            [orjson.dumps(trace_ids).decode()],
        )
        return _summaries(cursor.fetchall())


def _update_postgresql(rows: list[list[Any]]) -> None:
    assignments = ", ".join(f"{column} = new.{column}" for column in ROW_COLUMNS[1:])
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {_TABLE} SET {assignments} FROM ({_pg_rows_sql()}) AS new"  # noqa: S608
            f" WHERE {_TABLE}.trace_id = new.trace_id",
            [orjson.dumps(rows).decode()],
        )


def _pg_rows_sql() -> str:
    """SQL for a table of ROW_COLUMNS read from one parameter: a JSON array of rows."""
    fields = ", ".join(
        f"(e->{i}) AS {column}"  # services: a JSON array, stored as it is
        if column == "services"
        else f"(e->>{i})::{_PG_TYPES[column]} AS {column}"
        for i, column in enumerate(ROW_COLUMNS)
    )
    return f"SELECT {fields} FROM jsonb_array_elements(%s::jsonb) AS e"  # noqa: S608


# --- SQLite ----------------------------------------------------------------------------------


def _fold_sqlite(by_trace: dict[str, list[NewSpan]]) -> None:
    existing = _existing_sqlite(list(by_trace))
    new_rows: list[list[Any]] = []
    changed_rows: list[list[Any]] = []
    for trace_id, spans in by_trace.items():
        summary = existing.get(trace_id)
        row = _folded(spans, summary).row(trace_id)
        row[-1] = orjson.dumps(row[-1]).decode()
        (changed_rows if summary else new_rows).append(row)
    with connection.cursor() as cursor:
        if new_rows:
            cursor.executemany(
                f"INSERT INTO {_TABLE} ({', '.join(ROW_COLUMNS)})"  # noqa: S608
                f" VALUES ({', '.join(['%s'] * len(ROW_COLUMNS))})",
                new_rows,
            )
        if changed_rows:
            assignments = ", ".join(f"{column} = %s" for column in ROW_COLUMNS[1:])
            cursor.executemany(
                f"UPDATE {_TABLE} SET {assignments} WHERE trace_id = %s",  # noqa: S608
                [[*row[1:], row[0]] for row in changed_rows],
            )


def _existing_sqlite(trace_ids: list[str]) -> dict[str, Summary]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT trace_id, {', '.join(SUMMARY_COLUMNS)} FROM {_TABLE}"  # noqa: S608
            " WHERE trace_id IN (SELECT value FROM json_each(%s))",
            [orjson.dumps(trace_ids).decode()],
        )
        return _summaries(cursor.fetchall())


def _summaries(rows: list[tuple]) -> dict[str, Summary]:
    summaries = {}
    for trace_id, *values in rows:
        summary = Summary(*values)
        summary.root_has_parent = bool(summary.root_has_parent)
        if isinstance(summary.services, str | bytes):  # JSON text from the database
            summary.services = orjson.loads(summary.services)
        summaries[trace_id] = summary
    return summaries
