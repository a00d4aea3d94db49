"""Server-rendered pages; they read the apps' selectors only."""

import time
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from apps.accounts import selectors as accounts
from apps.accounts.constants import Role
from apps.audit import selectors as audit
from apps.core import selectors as core

RECENT_AUDIT_EVENTS = 15


def role_required(minimum: str):
    """Require a signed-in user holding at least `minimum` (403 otherwise)."""

    def decorate(view):
        @login_required
        def guarded(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if not accounts.role_at_least(accounts.user_role(request.user), minimum):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return guarded

    return decorate


@role_required(Role.VIEWER)
def overview(request: HttpRequest) -> HttpResponse:
    """The platform at a glance: dependencies, worker heartbeat, queues; audit for admins."""
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
