"""Serializer fields shared by the APIs."""

import math
from datetime import UTC, datetime
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.core.constants import SEVERITY_BY_NAME, Severity


@extend_schema_field({"type": "string", "enum": list(SEVERITY_BY_NAME)})
class SeverityField(serializers.Field):
    """A severity by name (info, low, medium, high, critical), stored as its number."""

    default_error_messages = {"invalid": f"One of {', '.join(SEVERITY_BY_NAME)}."}

    def to_representation(self, value: Any) -> str:
        return Severity(value).label

    def to_internal_value(self, data: Any) -> int:
        if not isinstance(data, str) or data.lower() not in SEVERITY_BY_NAME:
            self.fail("invalid")
        return SEVERITY_BY_NAME[data.lower()]


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string", "format": "date-time"},
            {"type": "number", "description": "epoch seconds"},
        ]
    }
)
class MomentField(serializers.DateTimeField):
    """A time in: epoch seconds (a number) or an RFC 3339 string, as API.md says; out: RFC 3339."""

    default_error_messages = {"epoch": "Epoch seconds must be a finite number in range."}

    def to_internal_value(self, value: Any) -> datetime:
        if isinstance(value, bool):
            self.fail("invalid", format="epoch seconds or RFC 3339")
        if isinstance(value, int | float):
            try:
                if not math.isfinite(value):
                    raise ValueError(value)
                return datetime.fromtimestamp(value, tz=UTC)
            except (ValueError, OverflowError, OSError):
                self.fail("epoch")
        return super().to_internal_value(value)
