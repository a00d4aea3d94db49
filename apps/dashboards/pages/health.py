"""System health: host charts over a chosen range, component states, code-health scores with
their trend and the stubs of the latest scan."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path

from apps.dashboards.access import viewer_page
from apps.dashboards.pages import PageEntry
from apps.dashboards.queries import health as queries
from apps.dashboards.queries.metrics import RANGES, range_key

PAGE = PageEntry("health", "Health", 20)


@viewer_page
def health(request: HttpRequest) -> HttpResponse:
    """Host charts, the component table and the code-health report."""
    chosen = range_key(request.GET.get("range"))
    states = queries.component_states()
    scans = list(queries.code_scans_latest())
    stubs, stub_total = queries.stubs_of(scans)
    context = {
        "range": chosen,
        "range_s": RANGES[chosen],
        "ranges": RANGES,
        "components": [(state, queries.details_shown(state.details)) for state in states],
        "scans": scans,
        "stubs": stubs,
        "stub_total": stub_total,
    }
    return render(request, "dashboards/health.html", context)


urlpatterns = [path("", health, name="health")]
