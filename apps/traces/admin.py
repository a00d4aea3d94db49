from django.contrib import admin

from apps.traces.api.serializers import rfc3339
from apps.traces.models import Span, TraceSummary


class ReadOnlyAdmin(admin.ModelAdmin):
    """Spans and summaries come from ingest: the admin only looks."""

    actions = None
    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Span)
class SpanAdmin(ReadOnlyAdmin):
    list_display = (
        "trace_id",
        "span_id",
        "start",
        "service",
        "name",
        "kind",
        "status",
        "duration_ms",
    )
    list_filter = ("status", "kind")
    search_fields = ("=trace_id", "=span_id", "=service", "name")
    ordering = ("-id",)

    @admin.display(description="start (UTC)", ordering="start_ns")
    def start(self, span: Span) -> str:
        return rfc3339(span.start_ns)


@admin.register(TraceSummary)
class TraceSummaryAdmin(ReadOnlyAdmin):
    list_display = (
        "trace_id",
        "start",
        "root_service",
        "root_name",
        "duration_ms",
        "span_count",
        "error_count",
    )
    search_fields = ("=trace_id", "=root_service", "root_name")
    ordering = ("-start_ns",)

    @admin.display(description="start (UTC)", ordering="start_ns")
    def start(self, summary: TraceSummary) -> str:
        return rfc3339(summary.start_ns)
