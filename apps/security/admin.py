from django.contrib import admin, messages
from django.utils import timezone

from apps.accounts.selectors import request_actor
from apps.core.admin import ReadOnlyAdmin
from apps.core.http import client_ip
from apps.security import services
from apps.security.models import BlockListEntry, SecurityEvent, SeverityThresholds, Threat
from apps.security.scoring import thresholds_forget


@admin.register(SecurityEvent)
class SecurityEventAdmin(ReadOnlyAdmin):
    list_display = ("timestamp", "event_type", "service", "user_id", "source_ip", "severity")
    list_filter = ("severity", "event_type", "mitigated")
    search_fields = ("user_id", "source_ip", "endpoint")
    date_hierarchy = "timestamp"


@admin.register(Threat)
class ThreatAdmin(ReadOnlyAdmin):
    list_display = ("kind", "key_type", "key", "count", "severity", "status", "last_seen")
    list_filter = ("status", "severity", "kind")
    search_fields = ("key", "reason")
    actions = ["mitigate", "mark_false_positive"]  # type: ignore[assignment]

    def has_change_permission(self, request, obj=None) -> bool:
        return obj is None  # the list (for its triage actions), never the edit form

    @admin.action(description="Mark selected threats mitigated")
    def mitigate(self, request, queryset) -> None:
        self._triage(request, queryset, services.threat_mitigate)

    @admin.action(description="Mark selected threats false positives")
    def mark_false_positive(self, request, queryset) -> None:
        self._triage(request, queryset, services.threat_mark_false_positive)

    def _triage(self, request, queryset, change) -> None:
        actor, ip = request_actor(request), client_ip(request)
        for threat in queryset:
            change(threat=threat, actor=actor, ip=ip, note="admin action")
        self.message_user(request, f"{queryset.count()} threats changed.", messages.SUCCESS)


@admin.register(BlockListEntry)
class BlockListEntryAdmin(admin.ModelAdmin):
    list_display = ("key_type", "key", "reason", "severity", "expires_at", "created_by")
    list_filter = ("key_type", "severity")
    search_fields = ("key", "reason")
    fields = ("key_type", "key", "reason", "severity", "expires_at")

    def save_model(self, request, obj, form, change) -> None:
        if not change:
            obj.created_at = timezone.now()
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(SeverityThresholds)
class SeverityThresholdsAdmin(admin.ModelAdmin):
    list_display = ("__str__", "updated_at")

    def has_add_permission(self, request) -> bool:
        return not SeverityThresholds.objects.exists()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        thresholds_forget()
