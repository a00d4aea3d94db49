"""Reading traces: search over trace summaries, and one trace as a tree of spans."""

import re
from dataclasses import dataclass
from typing import Any

from django.db.models import Exists, OuterRef, QuerySet

from apps.core.jsonmatch import json_keys_match
from apps.core.lookups import given_lookups
from apps.traces.constants import ERROR_STATUSES, SPAN_COLUMNS, TRACE_MAX_SPANS
from apps.traces.models import Span, TraceSummary
from apps.traces.tree import span_tree

_TRACE_ID = re.compile(r"[0-9a-fA-F]{32}")  # stored lower-case; read in either case


def trace_summary_list(
    *,
    service: str | None = None,
    name: str | None = None,
    status: str | None = None,
    min_duration_ms: float | None = None,
    max_duration_ms: float | None = None,
    attributes: dict[str, list[str]] | None = None,
    start_ns: int | None = None,
    end_ns: int | None = None,
) -> QuerySet[TraceSummary]:
    """Return the summaries of matching traces, newest first.

    `start_ns`/`end_ns` bound the trace's start, the durations its duration. `service`, `name`,
    `status` and `attributes` (key -> accepted values) match spans: a trace matches when one of
    its spans matches all of them.
    """
    summaries = TraceSummary.objects.filter(
        **given_lookups(
            start_ns__gte=start_ns,
            start_ns__lte=end_ns,
            duration_ms__gte=min_duration_ms,
            duration_ms__lte=max_duration_ms,
        )
    )
    if status in ERROR_STATUSES:
        summaries = summaries.filter(error_count__gt=0)
    spans = _matching_spans(service, name, status, attributes or {}, start_ns)
    if spans is not None:
        summaries = summaries.filter(Exists(spans.filter(trace_id=OuterRef("trace_id"))))
    return summaries.order_by("-start_ns", "-trace_id")


def _matching_spans(
    service: str | None,
    name: str | None,
    status: str | None,
    attributes: dict[str, list[str]],
    start_ns: int | None,
) -> QuerySet[Span] | None:
    conditions = given_lookups(service=service, name=name, status=status)
    if not conditions and not attributes:
        return None
    spans = Span.objects.filter(**conditions)
    if start_ns is not None:  # a span starts no earlier than its trace
        spans = spans.filter(start_ns__gte=start_ns)
    return json_keys_match(spans, "attributes", attributes)


@dataclass(frozen=True, slots=True)
class Trace:
    trace_id: str
    spans: list[dict[str, Any]]  # the roots, each with its "children"
    span_count: int
    truncated: bool


def trace_get(*, trace_id: str) -> Trace | None:
    """Return the trace as a tree of spans from its root(s), or None for an unknown id."""
    if not _TRACE_ID.fullmatch(trace_id):
        return None
    trace_id = trace_id.lower()
    spans = list(
        Span.objects.filter(trace_id=trace_id)
        .order_by("start_ns", "span_id")
        .values(*SPAN_COLUMNS)[: TRACE_MAX_SPANS + 1]
    )
    if not spans:
        return None
    truncated = len(spans) > TRACE_MAX_SPANS
    spans = spans[:TRACE_MAX_SPANS]
    return Trace(trace_id, span_tree(spans), len(spans), truncated)
