"""Log records as the API shows them: times as RFC 3339 (UTC, `Z`)."""

from rest_framework import serializers

from apps.core.times import NsTimeField
from apps.logs.models import LogRecord


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
