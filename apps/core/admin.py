from django.contrib import admin

from apps.core.models import RetentionPolicy


class ReadOnlyAdmin(admin.ModelAdmin):
    """An admin that only looks: every field read-only, no adding, changing or deleting."""

    actions = None

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(RetentionPolicy)
class RetentionPolicyAdmin(admin.ModelAdmin):
    list_display = ("key", "days", "description")
    list_editable = ("days",)
    readonly_fields = ("key", "description")

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
