"""Reads for the traces page: matching trace summaries, and one trace as waterfall rows."""

import re
from dataclasses import dataclass
from typing import Any

from django.db.models import Q

from apps.traces import selectors
from apps.traces.api.params import TraceQuery
from apps.traces.constants import ERROR_STATUSES
from apps.traces.models import TraceSummary

TRACES_SHOWN = 50
_CURSOR = re.compile(r"([0-9]{1,19})-([0-9a-f]{32})")


@dataclass(frozen=True, slots=True)
class TraceRow:
    trace_id: str
    root_service: str
    root_name: str
    start_s: float
    duration_ms: float
    span_count: int
    error_count: int
    other_services: int  # services in the trace besides the root's


@dataclass(frozen=True, slots=True)
class TracePage:
    rows: list[TraceRow]
    older: str | None  # the cursor of the next, older page; None on the last one


def parse_cursor(raw: str | None) -> tuple[int, str] | None:
    """Return (start_ns, trace_id) from an `older` cursor, or None when absent or malformed."""
    match = _CURSOR.fullmatch(raw or "")
    return (int(match[1]), match[2]) if match else None


def trace_search(
    *, query: TraceQuery, before: tuple[int, str] | None = None, limit: int = TRACES_SHOWN
) -> TracePage:
    """Return the newest `limit` matching traces that started before the cursor `before`."""
    summaries = selectors.trace_summary_list(**query.as_kwargs())
    if before is not None:
        start_ns, trace_id = before
        summaries = summaries.filter(
            Q(start_ns__lt=start_ns) | Q(start_ns=start_ns, trace_id__lt=trace_id)
        )
    found = list(summaries[: limit + 1])
    last = found[limit - 1] if len(found) > limit else None
    older = f"{last.start_ns}-{last.trace_id}" if last else None
    return TracePage([_trace_row(summary) for summary in found[:limit]], older)


def _trace_row(summary: TraceSummary) -> TraceRow:
    return TraceRow(
        trace_id=summary.trace_id,
        root_service=summary.root_service,
        root_name=summary.root_name,
        start_s=summary.start_ns / 1e9,
        duration_ms=summary.duration_ms,
        span_count=summary.span_count,
        error_count=summary.error_count,
        other_services=len(set(summary.services) - {summary.root_service}),
    )


def traces_exist() -> bool:
    """True once any trace has been received (the page shows its empty state until then)."""
    return TraceSummary.objects.exists()


@dataclass(frozen=True, slots=True)
class WaterfallRow:
    span: dict[str, Any]
    depth: int
    offset_ms: float  # from the trace's start
    offset_pct: float  # where the bar starts, in percent of the trace's time span
    width_pct: float
    error: bool


@dataclass(frozen=True, slots=True)
class Waterfall:
    trace_id: str
    rows: list[WaterfallRow]
    start_s: float
    duration_ms: float
    span_count: int
    error_count: int
    services: list[str]
    truncated: bool


def trace_waterfall(*, trace_id: str) -> Waterfall | None:
    """Return the trace as rows in tree order (depth-first, children by start), or None."""
    trace = selectors.trace_get(trace_id=trace_id)
    if trace is None:
        return None
    spans = list(_depth_first(trace.spans))
    start_ns = min(span["start_ns"] for span, _ in spans)
    end_ns = max(span["end_ns"] for span, _ in spans)
    total_ns = max(end_ns - start_ns, 1)
    rows = [_row(span, depth, start_ns, total_ns) for span, depth in spans]
    return Waterfall(
        trace_id=trace.trace_id,
        rows=rows,
        start_s=start_ns / 1e9,
        duration_ms=(end_ns - start_ns) / 1e6,
        span_count=trace.span_count,
        error_count=sum(row.error for row in rows),
        services=sorted({span["service"] for span, _ in spans}),
        truncated=trace.truncated,
    )


def _depth_first(roots: list[dict[str, Any]]):
    stack = [(root, 0) for root in reversed(roots)]
    while stack:
        span, depth = stack.pop()
        yield span, depth
        stack.extend((child, depth + 1) for child in reversed(span["children"]))


def _row(span: dict[str, Any], depth: int, start_ns: int, total_ns: int) -> WaterfallRow:
    offset = 100.0 * (span["start_ns"] - start_ns) / total_ns
    width = 100.0 * max(span["end_ns"] - span["start_ns"], 0) / total_ns
    return WaterfallRow(
        span=span,
        depth=depth,
        offset_ms=(span["start_ns"] - start_ns) / 1e6,
        offset_pct=round(min(offset, 100.0), 3),
        # At least a sliver, so that an instant span still shows where it happened.
        width_pct=round(max(min(width, 100.0 - offset), 0.3), 3),
        error=span["status"] in ERROR_STATUSES,
    )
