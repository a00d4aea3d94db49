from django.contrib import admin

from apps.ingest.models import ScrubRule
from apps.ingest.scrub import ruleset_forget


@admin.register(ScrubRule)
class ScrubRuleAdmin(admin.ModelAdmin):
    """PII rules: built-ins can be switched off (not deleted); admins add their own."""

    list_display = ("name", "kind", "pattern", "verify", "enabled", "builtin")
    list_editable = ("enabled",)
    list_filter = ("kind", "enabled", "builtin")

    def get_readonly_fields(self, request, obj=None):
        return ("name", "kind", "builtin") if obj is not None and obj.builtin else ("builtin",)

    def has_delete_permission(self, request, obj=None) -> bool:
        return obj is None or not obj.builtin

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        ruleset_forget()  # this process at once; the others within the rules' cache time
