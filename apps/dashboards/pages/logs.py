"""Logs: full-text search with filters, older pages by cursor, a live tail, links to traces."""

from typing import Any

from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.urls import path, reverse
from rest_framework.exceptions import ValidationError

from apps.dashboards.access import viewer_page
from apps.dashboards.pages import PageEntry
from apps.dashboards.pages.traces import (
    RANGES,
    chart_source,
    error_text,
    range_seconds,
    with_cursor,
    with_range,
    without,
)
from apps.dashboards.queries import logs as queries
from apps.logs.api.params import log_query

PAGE = PageEntry("logs", "Logs", 60)

SEVERITIES = ("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL")
FILTERS = ("q", "service", "min_severity", "trace_id")
# The chart of "all time" shows the last 30 days.
ALL_TIME_CHART_S = 30 * 86400


def _filters_only(params: QueryDict) -> str:
    """The search's own filters (no time, no cursor), as a query string for the tail."""
    kept = QueryDict(mutable=True)
    for key in params:
        if key in FILTERS or key.startswith("attr."):
            kept.setlist(key, params.getlist(key))
    return kept.urlencode()


@viewer_page
def logs(request: HttpRequest) -> HttpResponse:
    """Matching log records, newest first, with counts by severity over time and a tail."""
    range_value, range_s = range_seconds(request.GET)
    explicit = bool(request.GET.get("start") or request.GET.get("end"))
    before = queries.parse_cursor(request.GET.get("before"))
    context: dict[str, Any] = {
        "ranges": RANGES,
        "range": range_value,
        "severities": SEVERITIES,
        "values": request.GET,
        "chart_src": chart_source(request.GET, FILTERS, "/api/v1/logs/severity-counts"),
        "chart_range_s": 0 if explicit else range_s or ALL_TIME_CHART_S,
        "any_logs": queries.logs_exist(),
        "paged": before is not None,
        "newest_url": "?" + without(request.GET, "before"),
        "tail_url": f"{reverse('dashboards:logs-tail')}?{_filters_only(request.GET)}",
    }
    try:
        query = log_query(with_range(request.GET, range_s))
    except ValidationError as error:
        context["error"] = error_text(error)
        return render(request, "dashboards/logs.html", context, status=400)
    if context["any_logs"]:
        # Read before the page: a record stored in between comes twice rather than never.
        context["after_id"] = queries.latest_id()
        page = queries.log_page(query=query, before=before)
        context["rows"] = page.rows
        context["older_url"] = with_cursor(request.GET, page.older) if page.older else None
    return render(request, "dashboards/logs.html", context)


@viewer_page
def logs_tail(request: HttpRequest) -> HttpResponse:
    """The rows of records stored after record `after_id` that match the search (live tail)."""
    after = request.GET.get("after_id", "")
    try:
        query = log_query(request.GET)
    except ValidationError as error:
        return HttpResponse(error_text(error), status=400, content_type="text/plain")
    if not after.isdigit():
        return HttpResponse("after_id: give a record id.", status=400, content_type="text/plain")
    rows = queries.log_tail(query=query, after_id=int(after))
    return render(request, "dashboards/logs_rows.html", {"rows": rows, "fresh": True})


urlpatterns = [
    path("", logs, name="logs"),
    path("tail/", logs_tail, name="logs-tail"),
]
