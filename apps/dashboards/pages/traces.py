"""Traces: search by service, operation, duration, status and time; one trace as a waterfall."""

import time
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.urls import path
from rest_framework.exceptions import ValidationError

from apps.dashboards.access import viewer_page
from apps.dashboards.pages import PageEntry
from apps.dashboards.queries import traces as queries
from apps.traces.api.params import trace_query
from apps.traces.constants import SPAN_STATUSES

PAGE = PageEntry("traces", "Traces", 50)

# The time-range choices of the traces and logs filters: (value, label, seconds; 0 = all time).
RANGES = (
    ("15m", "Last 15 minutes", 900),
    ("1h", "Last hour", 3600),
    ("6h", "Last 6 hours", 6 * 3600),
    ("24h", "Last 24 hours", 86400),
    ("7d", "Last 7 days", 7 * 86400),
    ("30d", "Last 30 days", 30 * 86400),
    ("all", "All time", 0),
)
DEFAULT_RANGE = "24h"
FILTERS = ("service", "name", "status", "min_duration_ms", "max_duration_ms")
CHART_POINTS = 1000


def range_seconds(params: QueryDict) -> tuple[str, int]:
    """Return the chosen range (its value and seconds, 0 for all time), the default if unknown."""
    chosen = params.get("range") or DEFAULT_RANGE
    for value, _, seconds in RANGES:
        if value == chosen:
            return value, seconds
    return DEFAULT_RANGE, {v: s for v, _, s in RANGES}[DEFAULT_RANGE]


def with_range(params: QueryDict, range_s: int) -> QueryDict:
    """Return the query string with `start` = now − range unless it gives start or end itself."""
    bounded = params.copy()
    if range_s and not params.get("start") and not params.get("end"):
        bounded["start"] = f"{time.time() - range_s:.3f}"
    return bounded


def with_cursor(params: QueryDict, cursor: str) -> str:
    """Return the query string of the next, older page."""
    paged = params.copy()
    paged["before"] = cursor
    return f"?{paged.urlencode()}"


def without(params: QueryDict, key: str) -> str:
    """Return the query string without `key`."""
    kept = params.copy()
    kept.pop(key, None)
    return kept.urlencode()


def error_text(error: ValidationError) -> str:
    """Return a 400's messages as one line: `parameter: message; …`."""
    detail: Any = error.detail
    if isinstance(detail, dict):
        return "; ".join(f"{key}: {' '.join(map(str, msgs))}" for key, msgs in detail.items())
    return " ".join(map(str, detail))


def chart_source(params: QueryDict, keys: tuple[str, ...], base: str, **extra: Any) -> str:
    """Return the chart's API URL: the page's filters (and attr.* ones) plus `extra`."""
    pairs = [
        (key, value)
        for key in params
        if key in keys or key.startswith("attr.") or key in ("start", "end")
        for value in params.getlist(key)
        if value
    ]
    return f"{base}?{urlencode([*pairs, *extra.items()])}"


@viewer_page
def traces(request: HttpRequest) -> HttpResponse:
    """Trace search, newest first, with a duration chart of the matching traces."""
    range_value, range_s = range_seconds(request.GET)
    explicit = bool(request.GET.get("start") or request.GET.get("end"))
    before = queries.parse_cursor(request.GET.get("before"))
    context: dict[str, Any] = {
        "ranges": RANGES,
        "range": range_value,
        "paged": before is not None,
        "newest_url": "?" + without(request.GET, "before"),
        "statuses": SPAN_STATUSES,
        "values": request.GET,
        "chart_src": chart_source(request.GET, FILTERS, "/api/v1/traces", limit=CHART_POINTS),
        "chart_range_s": 0 if explicit else range_s,
        "any_traces": queries.traces_exist(),
    }
    try:
        query = trace_query(with_range(request.GET, range_s))
    except ValidationError as error:
        context["error"] = error_text(error)
        return render(request, "dashboards/traces.html", context, status=400)
    if context["any_traces"]:
        page = queries.trace_search(query=query, before=before)
        context["results"] = page.rows
        context["older_url"] = with_cursor(request.GET, page.older) if page.older else None
    context["shown_max"] = queries.TRACES_SHOWN
    return render(request, "dashboards/traces.html", context)


@viewer_page
def trace(request: HttpRequest, trace_id: str) -> HttpResponse:
    """One trace: the span tree as a waterfall, errors, attributes, the critical path."""
    waterfall = queries.trace_waterfall(trace_id=trace_id.lower())
    if waterfall is None:
        return render(request, "dashboards/traces_missing.html", {"trace_id": trace_id}, status=404)
    return render(request, "dashboards/traces_detail.html", {"trace": waterfall})


urlpatterns = [
    path("", traces, name="traces"),
    path("<str:trace_id>/", trace, name="trace"),
]
