"""Alerts: active alerts, history, silences; one alert's transitions and delivery ledger.

Operators acknowledge, resolve and silence through the public API from these pages.
"""

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path

from apps.alerts.constants import AlertState
from apps.alerts.labels import SILENCE_OPS
from apps.dashboards.access import may_operate, viewer_page
from apps.dashboards.pages import PageEntry
from apps.dashboards.queries import alerts as queries

PAGE = PageEntry("alerts", "Alerts", 60)

TIMELINE_RANGE_S = 86400
SILENCE_DURATIONS = [
    ("1800", "30 minutes"),
    ("3600", "1 hour"),
    ("14400", "4 hours"),
    ("86400", "1 day"),
    ("604800", "7 days"),
]


@viewer_page
def alerts(request: HttpRequest) -> HttpResponse:
    """Active alerts, a page of resolved ones, current silences."""
    page = _page_number(request.GET.get("page"))
    history, more = queries.resolved_page(page=page)
    context = {
        "counts": queries.state_counts(),
        "active": queries.active_alerts(),
        "history": history,
        "page": page,
        "next_page": page + 1 if more else None,
        "previous_page": page - 1 if page > 1 else None,
        "silences": queries.current_silences(),
        "may_operate": may_operate(request),
        "firing": AlertState.FIRING,
        "timeline_range_s": TIMELINE_RANGE_S,
        "silence_ops": SILENCE_OPS,
        "silence_durations": SILENCE_DURATIONS,
    }
    return render(request, "dashboards/alerts.html", context)


@viewer_page
def alert_detail(request: HttpRequest, alert_id: int) -> HttpResponse:
    """One alert: what it saw, its state changes and every notification with its attempts."""
    found = queries.alert_detail(alert_id=alert_id)
    if found is None:
        raise Http404("No such alert.")
    found.update(may_operate=may_operate(request), firing=AlertState.FIRING)
    return render(request, "dashboards/alerts_detail.html", found)


def _page_number(raw: str | None) -> int:
    try:
        return max(1, min(int(raw or 1), queries.MAX_HISTORY_PAGE))
    except ValueError:
        return 1


urlpatterns = [
    path("", alerts, name="alerts"),
    path("<int:alert_id>/", alert_detail, name="alert-detail"),
]
