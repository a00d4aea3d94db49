"""PII scrubbing rules, applied by ingest before anything is stored; editable by admins."""

import re

from django.core.exceptions import ValidationError
from django.db import models


class ScrubRule(models.Model):
    class Kind(models.TextChoices):
        VALUE = "value", "text matching the pattern is replaced"
        KEY = "key", "values of attributes whose key matches are replaced"

    class Check(models.TextChoices):
        NONE = "", "none"
        LUHN = "luhn", "Luhn checksum (card numbers)"

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    pattern = models.CharField(max_length=1000, help_text="A Python regular expression.")
    verify = models.CharField(
        max_length=8,
        choices=Check.choices,
        blank=True,
        default="",
        help_text="A further check a match must pass to be scrubbed.",
    )
    enabled = models.BooleanField(default=True)
    builtin = models.BooleanField(default=False, editable=False)
    description = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        try:
            re.compile(self.pattern)
        except re.error as exc:
            raise ValidationError({"pattern": f"not a valid regular expression: {exc}"}) from exc
