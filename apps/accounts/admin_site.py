"""The Django admin for the admin role only, with every change written to the audit log."""

from functools import update_wrapper

from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.core.exceptions import PermissionDenied
from django.db.models import Max
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from apps.accounts import selectors
from apps.accounts.constants import Role
from apps.audit.services import audit_record
from apps.core.http import client_ip
from apps.core.observe import security_observe

_ADMIN_ACTIONS = {1: "admin.add", 2: "admin.change", 3: "admin.delete"}


class AivmonAdminSite(admin.AdminSite):
    site_header = "aivmon administration"
    site_title = "aivmon admin"
    index_title = "Administration"

    def has_permission(self, request) -> bool:
        return selectors.user_role(request.user) == Role.ADMIN

    def login(self, request, extra_context=None):
        """Send sign-ins through the one login page, where lockouts apply."""
        target = request.GET.get("next", "")
        if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
            target = reverse("admin:index")
        if request.user.is_authenticated:
            raise PermissionDenied
        return redirect(f"{reverse('accounts:login')}?next={target}")

    def admin_view(self, view, cacheable=False):
        inner = super().admin_view(view, cacheable)

        def guarded(request, *args, **kwargs):
            if request.user.is_authenticated and not self.has_permission(request):
                raise PermissionDenied
            if request.method != "POST":
                return inner(request, *args, **kwargs)
            return _audited(inner, request, *args, **kwargs)

        return update_wrapper(guarded, view)


def _audited(view, request, *args, **kwargs):
    """Run an admin POST, then copy the admin's change log entries into the audit log."""
    before = LogEntry.objects.aggregate(last=Max("id"))["last"] or 0
    response = view(request, *args, **kwargs)
    entries = (
        LogEntry.objects.filter(id__gt=before, user_id=request.user.pk)
        .select_related("content_type")
        .order_by("id")
    )
    actor = selectors.request_actor(request)
    for entry in entries:
        target = f"{entry.content_type.app_label}.{entry.content_type.model}:{entry.object_id}"
        audit_record(
            action=_ADMIN_ACTIONS.get(entry.action_flag, "admin.other"),
            actor=actor,
            target=target,
            ip=client_ip(request),
            details={"object": entry.object_repr, "change": entry.get_change_message()},
        )
        security_observe(
            request,
            event_type="admin_operation",
            details={
                "action": _ADMIN_ACTIONS.get(entry.action_flag, "admin.other"),
                "target": target,
            },
        )
    return response
