from django.contrib import admin
from django.http import HttpRequest

from apps.backups.models import BackupPolicy


@admin.register(BackupPolicy)
class BackupPolicyAdmin(admin.ModelAdmin):
    list_display = ("enabled", "keep_hourly", "keep_daily")

    def has_add_permission(self, request: HttpRequest) -> bool:
        """One policy: it can be added once, then only changed."""
        return super().has_add_permission(request) and not BackupPolicy.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
