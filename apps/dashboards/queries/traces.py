"""Reads for the traces page: matching trace summaries, and one trace as waterfall rows."""

from dataclasses import dataclass
from typing import Any

from apps.traces import selectors
from apps.traces.api.params import TraceQuery
from apps.traces.constants import ERROR_STATUSES
from apps.traces.models import TraceSummary

TRACES_SHOWN = 50


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


def trace_search(*, query: TraceQuery, limit: int = TRACES_SHOWN) -> list[TraceRow]:
    """Return the newest `limit` summaries of the traces matching `query`."""
    summaries = selectors.trace_summary_list(**query.as_kwargs())[:limit]
    return [
        TraceRow(
            trace_id=summary.trace_id,
            root_service=summary.root_service,
            root_name=summary.root_name,
            start_s=summary.start_ns / 1e9,
            duration_ms=summary.duration_ms,
            span_count=summary.span_count,
            error_count=summary.error_count,
            other_services=len(set(summary.services) - {summary.root_service}),
        )
        for summary in summaries
    ]


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
