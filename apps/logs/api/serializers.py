"""Log records as the API shows them: times as RFC 3339 (UTC, `Z`)."""

from datetime import UTC, datetime, timedelta

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.logs.models import LogRecord

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def rfc3339(ns: int) -> str:
    """Return epoch nanoseconds as RFC 3339 in UTC, to the microsecond, like DRF's own times."""
    moment = _EPOCH + timedelta(microseconds=ns // 1000)
    return moment.isoformat().replace("+00:00", "Z")


@extend_schema_field(OpenApiTypes.DATETIME)
class NsTimeField(serializers.Field):
    """Epoch nanoseconds shown as an RFC 3339 time."""

    def to_representation(self, value: int) -> str:
        return rfc3339(value)


class LogRecordSerializer(serializers.ModelSerializer):
    timestamp = NsTimeField(source="ts_ns")
    timestamp_ns = serializers.IntegerField(source="ts_ns")
    severity = serializers.CharField(source="severity_text")
    trace_id = serializers.SerializerMethodField()
    span_id = serializers.SerializerMethodField()

    class Meta:
        model = LogRecord
        fields = [
            "id",
            "timestamp",
            "timestamp_ns",
            "severity",
            "severity_number",
            "body",
            "service",
            "attributes",
            "resource",
            "trace_id",
            "span_id",
        ]

    def get_trace_id(self, record: LogRecord) -> str | None:
        return record.trace_id or None

    def get_span_id(self, record: LogRecord) -> str | None:
        return record.span_id or None
