"""Security: the threat landscape, the event timeline, top sources, detectors, the block list.

Operators triage open threats from here (mitigate, false positive) through the public API.
"""

from datetime import timedelta

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils import timezone

from apps.dashboards.access import may_operate, viewer_page
from apps.dashboards.pages import PageEntry
from apps.dashboards.queries import overview as shared
from apps.dashboards.queries import security as queries

PAGE = PageEntry("security", "Security", 10)


@viewer_page
def security(request: HttpRequest) -> HttpResponse:
    """Open threats by kind and severity, events over the chosen range, sources, block list."""
    chosen = request.GET.get("range", queries.DEFAULT_RANGE)
    if chosen not in queries.RANGES:
        chosen = queries.DEFAULT_RANGE
    range_s = queries.RANGES[chosen]
    start = timezone.now() - timedelta(seconds=range_s)
    landscape = queries.threat_landscape()
    context = {
        "ranges": list(queries.RANGES),
        "chosen": chosen,
        "range_s": range_s,
        "severities": list(reversed(shared.SEVERITIES)),
        "landscape": landscape,
        "open_total": sum(kind["total"] for kind in landscape),
        "threats": queries.open_threats(),
        "top_ips": queries.top_sources(start=start, field="source_ip"),
        "top_users": queries.top_sources(start=start, field="user_id"),
        "detectors": queries.detections_by_detector(start=start),
        "blocklist": queries.blocklist(),
        "reported": queries.services_reported(),
        "may_operate": may_operate(request),
    }
    return render(request, "dashboards/security.html", context)


urlpatterns = [path("", security, name="security")]
