from django.contrib import admin, messages

from apps.core.admin import ReadOnlyAdmin
from apps.health import services
from apps.health.models import (
    CodeComponent,
    CodeScan,
    ComponentState,
    ComponentTransition,
    HealthThresholds,
)


@admin.register(CodeComponent)
class CodeComponentAdmin(admin.ModelAdmin):
    list_display = ("name", "path", "enabled", "created_at")
    list_filter = ("enabled",)
    search_fields = ("name", "path")
    fields = ("name", "path", "enabled")
    actions = ["scan_now"]  # type: ignore[assignment]

    @admin.action(description="Scan the selected components now")
    def scan_now(self, request, queryset) -> None:
        scans = [services.code_scan_run(component=component) for component in queryset]
        summary = ", ".join(
            f"{scan.component.name}: {scan.score} ({scan.status})" for scan in scans
        )
        self.message_user(request, f"Scanned {summary}.", messages.SUCCESS)


@admin.register(CodeScan)
class CodeScanAdmin(ReadOnlyAdmin):
    list_display = ("component", "finished_at", "score", "status", "stub_count", "files", "lines")
    list_filter = ("status", "component")
    date_hierarchy = "finished_at"


@admin.register(ComponentState)
class ComponentStateAdmin(ReadOnlyAdmin):
    list_display = ("name", "status", "checked_at", "changed_at")
    list_filter = ("status",)


@admin.register(ComponentTransition)
class ComponentTransitionAdmin(ReadOnlyAdmin):
    list_display = ("name", "from_status", "to_status", "at")
    list_filter = ("name", "to_status")
    date_hierarchy = "at"


@admin.register(HealthThresholds)
class HealthThresholdsAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return not HealthThresholds.objects.exists()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
