from django.contrib import admin

from apps.core.models import RetentionPolicy


@admin.register(RetentionPolicy)
class RetentionPolicyAdmin(admin.ModelAdmin):
    list_display = ("key", "days", "description")
    list_editable = ("days",)
    readonly_fields = ("key", "description")

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
