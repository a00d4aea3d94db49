from django.contrib import admin

from apps.audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: no role may add, change or delete audit events."""

    list_display = ("id", "created_at", "action", "actor_kind", "actor_label", "target", "ip")
    list_filter = ("action", "actor_kind")
    search_fields = ("action", "actor_label", "target", "ip")
    readonly_fields = [field.name for field in AuditEvent._meta.fields]
    actions = None

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
