"""Reading traces: search over trace summaries, and one trace as a tree of spans."""

import math
import re
from dataclasses import dataclass
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.fields.json import KeyTransform

from apps.traces.constants import ERROR_STATUSES, TRACE_MAX_SPANS
from apps.traces.models import Span, TraceSummary
from apps.traces.tree import span_tree

_TRACE_ID = re.compile(r"[0-9a-f]{32}")
_INT = re.compile(r"[+-]?[0-9]{1,18}")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")

SPAN_FIELDS = (
    "trace_id",
    "span_id",
    "parent_span_id",
    "service",
    "name",
    "kind",
    "start_ns",
    "end_ns",
    "duration_ms",
    "status",
    "status_message",
    "attributes",
    "events",
    "resource",
)


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
    summaries = TraceSummary.objects.all()
    if start_ns is not None:
        summaries = summaries.filter(start_ns__gte=start_ns)
    if end_ns is not None:
        summaries = summaries.filter(start_ns__lte=end_ns)
    if min_duration_ms is not None:
        summaries = summaries.filter(duration_ms__gte=min_duration_ms)
    if max_duration_ms is not None:
        summaries = summaries.filter(duration_ms__lte=max_duration_ms)
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
    conditions = {"service": service, "name": name, "status": status}
    conditions = {field: value for field, value in conditions.items() if value is not None}
    if not conditions and not attributes:
        return None
    spans = Span.objects.filter(**conditions)
    if start_ns is not None:  # a span starts no earlier than its trace
        spans = spans.filter(start_ns__gte=start_ns)
    return json_keys_match(spans, "attributes", attributes)


def json_keys_match(records: QuerySet, field: str, wanted: dict[str, list[str]]) -> QuerySet:
    """Narrow `records` to those whose JSON `field` has, for each key, one of the wanted values.

    A query-string value matches the same text, and also the number or boolean it spells:
    "200" matches 200 and "200", "true" matches true and "true".
    """
    for index, (key, values) in enumerate(wanted.items()):
        alias = f"_json_key_{index}"
        records = records.alias(**{alias: KeyTransform(key, field)})
        condition = Q()
        for value in values:
            for candidate in json_candidates(value):
                condition |= Q(**{alias: candidate})
        records = records.filter(condition)
    return records


def json_candidates(value: str) -> list[Any]:
    """The JSON values a query-string value stands for: itself, and a number or boolean."""
    candidates: list[Any] = [value]
    if _INT.fullmatch(value):
        candidates.append(int(value))
    elif _NUMBER.fullmatch(value) and math.isfinite(float(value)):
        candidates.append(float(value))
    elif value in ("true", "false"):
        candidates.append(value == "true")
    return candidates


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
    spans = list(
        Span.objects.filter(trace_id=trace_id)
        .order_by("start_ns", "span_id")
        .values(*SPAN_FIELDS)[: TRACE_MAX_SPANS + 1]
    )
    if not spans:
        return None
    truncated = len(spans) > TRACE_MAX_SPANS
    spans = spans[:TRACE_MAX_SPANS]
    return Trace(trace_id, span_tree(spans), len(spans), truncated)
