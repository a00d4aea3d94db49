from django.contrib import admin

from apps.metrics.models import Series


@admin.register(Series)
class SeriesAdmin(admin.ModelAdmin):
    """Read-only: series are written by ingestion only."""

    list_display = ("name", "type", "service", "labels_text", "unit", "first_seen", "last_seen")
    list_filter = ("type",)
    search_fields = ("name", "service", "labels_text")
    readonly_fields = [field.name for field in Series._meta.fields]
    actions = None
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
