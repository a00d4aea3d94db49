"""Run-time settings an operator changes in the admin (not in the environment)."""

from django.db import models


class RetentionPolicy(models.Model):
    """How long one kind of data is kept; empty `days` means forever."""

    key = models.CharField(max_length=40, unique=True)
    days = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: keep forever.")
    description = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["key"]
        verbose_name_plural = "retention policies"

    def __str__(self) -> str:
        return f"{self.key}: {self.days if self.days is not None else 'forever'} days"
