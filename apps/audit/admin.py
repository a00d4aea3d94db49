from django.contrib import admin

from apps.audit.models import AuditEvent
from apps.core.admin import ReadOnlyAdmin


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """Read-only: no role may add, change or delete audit events."""

    list_display = ("id", "created_at", "action", "actor_kind", "actor_label", "target", "ip")
    list_filter = ("action", "actor_kind")
    search_fields = ("action", "actor_label", "target", "ip")
