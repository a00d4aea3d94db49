"""Overview: the platform at a glance, each card linking into its page."""

import time
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path

from apps.accounts import selectors as accounts
from apps.accounts.constants import Role
from apps.alerts.constants import AlertState
from apps.audit import selectors as audit
from apps.core import selectors as core
from apps.dashboards.access import viewer_page
from apps.dashboards.pages import PageEntry
from apps.dashboards.queries import overview as queries

PAGE = PageEntry("overview", "Overview", 0)

RECENT_AUDIT_EVENTS = 15
FIRING = AlertState.FIRING


@viewer_page
def overview(request: HttpRequest) -> HttpResponse:
    """Alerts, threats, components, ingest; dependencies, worker, queues; audit for admins."""
    heartbeat = core.heartbeat_last()
    alerts = queries.active_alert_counts()
    context: dict[str, Any] = {
        "checks": core.readiness(),
        "heartbeat_age_s": round(time.time() - heartbeat, 1) if heartbeat is not None else None,
        "queues": core.queue_depths(settings.AIVMON_QUEUES),
        "firing": queries.severity_rows(alerts["firing"]),
        "firing_total": queries.firing_total(alerts),
        "other_active": {state: sum(alerts[state].values()) for state in alerts if state != FIRING},
        "threats": queries.severity_rows(queries.open_threat_counts()),
        "components": queries.component_states(),
        "ingest": queries.ingest_volumes(),
    }
    context["threats_total"] = sum(n for _, n in context["threats"])
    context["ingest_seen"] = any(row["hour"] for row in context["ingest"])
    if accounts.user_role(request.user) == Role.ADMIN:
        context["audit_events"] = audit.audit_event_list()[:RECENT_AUDIT_EVENTS]
        context["audit_chain"] = audit.audit_chain_verify()
    return render(request, "dashboards/overview.html", context)


urlpatterns = [path("", overview, name="overview")]
