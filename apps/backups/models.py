"""How many backups to keep, editable by admins."""

from django.db import models


class BackupPolicy(models.Model):
    """The one backup policy: keep the newest backup of each of the last N hours and M days."""

    enabled = models.BooleanField(default=True, help_text="Take a backup every hour.")
    keep_hourly = models.PositiveIntegerField(
        default=24, help_text="Hours for which the newest backup of the hour is kept."
    )
    keep_daily = models.PositiveIntegerField(
        default=14, help_text="Days for which the newest backup of the day is kept."
    )

    class Meta:
        verbose_name_plural = "backup policy"

    def __str__(self) -> str:
        return f"keep {self.keep_hourly} hourly, {self.keep_daily} daily"
