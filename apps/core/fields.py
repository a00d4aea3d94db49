"""Serializer fields shared by the APIs."""

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
