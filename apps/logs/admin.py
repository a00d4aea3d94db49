from django.contrib import admin

from apps.core.admin import ReadOnlyAdmin
from apps.core.times import rfc3339
from apps.logs import fulltext
from apps.logs.models import LogRecord


@admin.register(LogRecord)
class LogRecordAdmin(ReadOnlyAdmin):
    """Read-only: records come from ingest, and leave through retention (which unindexes them).

    The search box finds words of the body through the full-text index, or a service or trace
    id exactly.
    """

    list_display = ("id", "time", "service", "severity_text", "body", "trace_id")
    list_filter = ("severity_text",)
    search_fields = ("body",)  # shows the search box; get_search_results does the searching
    search_help_text = "Words of the body (all of them), a service, or a trace id."
    ordering = ("-id",)
    show_full_result_count = False

    @admin.display(description="time (UTC)", ordering="ts_ns")
    def time(self, record: LogRecord) -> str:
        return rfc3339(record.ts_ns)

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        found = (
            fulltext.matching(queryset, term)
            | queryset.filter(service=term)
            | queryset.filter(trace_id=term.lower())
        )
        return found, False
