"""Reads for the logs page: a page of matching records (older ones by cursor), the records that
arrived after those shown (live tail), and record counts by severity over time for its chart."""

import re
from dataclasses import dataclass
from typing import Any

from django.db.models import BigIntegerField, Count, ExpressionWrapper, F, IntegerField, Q, Value

from apps.logs import selectors
from apps.logs.api.params import LogQuery
from apps.logs.constants import severity_text_for
from apps.logs.models import LogRecord

RECORDS_SHOWN = 50
TAIL_MAX = 100
_CURSOR = re.compile(r"([0-9]{1,19})-([0-9]{1,19})")
_COLUMNS = ("id", "ts_ns", "severity_number", "severity_text", "body", "service", "trace_id")
_COLORS = {
    "UNSPECIFIED": "#8c8c8c",
    "TRACE": "#9aa5b8",
    "DEBUG": "#17becf",
    "INFO": "#2c7fb8",
    "WARN": "#e6a000",
    "ERROR": "#d6453d",
    "FATAL": "#7b1fa2",
}


@dataclass(frozen=True, slots=True)
class LogRow:
    id: int
    ts_ns: int
    severity_number: int
    severity_text: str
    body: str
    service: str
    trace_id: str

    @property
    def ts_s(self) -> float:
        return self.ts_ns / 1e9

    @property
    def cursor(self) -> str:
        """Where the next page of older records starts (after this one)."""
        return f"{self.ts_ns}-{self.id}"

    @property
    def band(self) -> str:
        return severity_text_for(self.severity_number).lower()


@dataclass(frozen=True, slots=True)
class LogPage:
    rows: list[LogRow]
    older: str | None  # the cursor of the next, older page; None on the last one


def parse_cursor(raw: str | None) -> tuple[int, int] | None:
    """Return (ts_ns, id) from an `older` cursor, or None when absent or malformed."""
    match = _CURSOR.fullmatch(raw or "")
    return (int(match[1]), int(match[2])) if match else None


def log_page(
    *, query: LogQuery, before: tuple[int, int] | None, limit: int = RECORDS_SHOWN
) -> LogPage:
    """Return the newest `limit` matching records older than the cursor `before` (if given)."""
    records = selectors.log_record_list(**query.as_kwargs())
    if before is not None:
        ts_ns, pk = before
        records = records.filter(Q(ts_ns__lt=ts_ns) | Q(ts_ns=ts_ns, id__lt=pk))
    rows = [_row(values) for values in records.values_list(*_COLUMNS)[: limit + 1]]
    older = rows[limit - 1].cursor if len(rows) > limit else None
    return LogPage(rows[:limit], older)


def log_tail(*, query: LogQuery, after_id: int, limit: int = TAIL_MAX) -> list[LogRow]:
    """Return the matching records stored after record `after_id`, newest first."""
    records = selectors.log_record_list(**query.as_kwargs()).filter(id__gt=after_id)
    return [_row(values) for values in records.values_list(*_COLUMNS)[:limit]]


def logs_exist() -> bool:
    """True once any log record has been received (the page shows its empty state until then)."""
    return LogRecord.objects.exists()


def latest_id() -> int:
    """Return the highest record id so far (0 when none): where a tail of an empty list starts."""
    return LogRecord.objects.order_by("-id").values_list("id", flat=True).first() or 0


def severity_counts(*, query: LogQuery, step_s: int) -> list[dict[str, Any]]:
    """Return one line per severity band found: [[bucket start in epoch s, records], …] for every
    bucket from the query's start to its end (both required), 0 where none."""
    step_ns = step_s * 1_000_000_000
    # Integer operands both sides: integer division on SQLite and PostgreSQL alike.
    step = Value(step_ns, output_field=BigIntegerField())
    bucket = ExpressionWrapper(F("ts_ns") / step, output_field=BigIntegerField())
    four = Value(4, output_field=IntegerField())
    band = ExpressionWrapper((F("severity_number") + 3) / four, output_field=IntegerField())
    counts = (
        selectors.log_record_list(**query.as_kwargs())
        .order_by()
        .annotate(bucket=bucket, band=band)
        .values_list("band", "bucket")
        .annotate(records=Count("id"))
    )
    found: dict[int, dict[int, int]] = {}
    for band_no, bucket_no, records in counts:
        found.setdefault(band_no, {})[bucket_no] = records
    buckets = range(query.start_ns // step_ns, query.end_ns // step_ns + 1)  # type: ignore[operator]
    return [
        _line(band_no, [[b * step_s, found[band_no].get(b, 0)] for b in buckets])
        for band_no in sorted(found)
    ]


def _line(band_no: int, points: list[list[int]]) -> dict[str, Any]:
    label = severity_text_for(band_no * 4 - 3) if band_no else "UNSPECIFIED"
    return {"label": label, "color": _COLORS[label], "points": points}


def _row(values: tuple) -> LogRow:
    pk, ts_ns, number, text, body, service, trace_id = values
    return LogRow(pk, ts_ns, number, text, body, service, trace_id)
