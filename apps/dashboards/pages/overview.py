"""Overview: the platform at a glance."""

import time
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path

from apps.accounts import selectors as accounts
from apps.accounts.constants import Role
from apps.audit import selectors as audit
from apps.core import selectors as core
from apps.dashboards.access import viewer_page
from apps.dashboards.pages import PageEntry

PAGE = PageEntry("overview", "Overview", 0)

RECENT_AUDIT_EVENTS = 15


@viewer_page
def overview(request: HttpRequest) -> HttpResponse:
    """Dependencies, worker heartbeat, queues; the audit log for admins."""
    heartbeat = core.heartbeat_last()
    context: dict[str, Any] = {
        "checks": core.readiness(),
        "heartbeat_age_s": round(time.time() - heartbeat, 1) if heartbeat is not None else None,
        "queues": core.queue_depths(settings.AIVMON_QUEUES),
    }
    if accounts.user_role(request.user) == Role.ADMIN:
        context["audit_events"] = audit.audit_event_list()[:RECENT_AUDIT_EVENTS]
        context["audit_chain"] = audit.audit_chain_verify()
    return render(request, "dashboards/overview.html", context)


urlpatterns = [path("", overview, name="overview")]
