from django.contrib import admin

from apps.core.admin import ReadOnlyAdmin
from apps.core.times import rfc3339
from apps.traces.models import Span, TraceSummary


@admin.register(Span)
class SpanAdmin(ReadOnlyAdmin):
    """Spans come from ingest: the admin only looks."""

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
    show_full_result_count = False  # counting every span on each page is slow

    @admin.display(description="start (UTC)", ordering="start_ns")
    def start(self, span: Span) -> str:
        return rfc3339(span.start_ns)


@admin.register(TraceSummary)
class TraceSummaryAdmin(ReadOnlyAdmin):
    """Summaries come from ingest: the admin only looks."""

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
    show_full_result_count = False

    @admin.display(description="start (UTC)", ordering="start_ns")
    def start(self, summary: TraceSummary) -> str:
        return rfc3339(summary.start_ns)
