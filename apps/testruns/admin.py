from django.contrib import admin

from apps.core.admin import ReadOnlyAdmin
from apps.testruns.models import CaseResult, Run


@admin.register(Run)
class RunAdmin(ReadOnlyAdmin):
    list_display = ("suite", "run_id", "commit", "branch", "started_at", "tests", "success_rate")
    list_filter = ("suite",)
    search_fields = ("suite", "run_id", "commit", "branch")
    date_hierarchy = "started_at"


@admin.register(CaseResult)
class CaseResultAdmin(ReadOnlyAdmin):
    list_display = ("run", "module", "name", "outcome", "duration_s")
    list_filter = ("outcome",)
    search_fields = ("module", "name")
    list_select_related = ("run",)
