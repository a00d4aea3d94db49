"""Traces as the API shows them: times as RFC 3339 (UTC, `Z`), durations in milliseconds."""

from typing import Any

from rest_framework import serializers

from apps.core.times import NsTimeField, rfc3339
from apps.traces.models import TraceSummary


class TraceSummarySerializer(serializers.ModelSerializer):
    start = NsTimeField(source="start_ns")
    end = NsTimeField(source="end_ns")

    class Meta:
        model = TraceSummary
        fields = [
            "trace_id",
            "root_service",
            "root_name",
            "start",
            "end",
            "duration_ms",
            "span_count",
            "error_count",
            "services",
        ]


class SpanSerializer(serializers.Serializer):
    """The shape of one span in a trace (documentation: `span_json` builds it)."""

    trace_id = serializers.CharField()
    span_id = serializers.CharField()
    parent_span_id = serializers.CharField(allow_null=True)
    service = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.CharField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    start_ns = serializers.IntegerField()
    end_ns = serializers.IntegerField()
    duration_ms = serializers.FloatField()
    status = serializers.CharField()
    status_message = serializers.CharField()
    attributes = serializers.DictField()
    events = serializers.ListField(child=serializers.DictField())
    resource = serializers.DictField()
    critical_path = serializers.BooleanField(
        help_text="On the chain of latest-ending children from the root."
    )
    children = serializers.ListField(
        child=serializers.DictField(), help_text="Spans of this same shape."
    )


class TraceSerializer(serializers.Serializer):
    """The shape of GET /api/v1/traces/<trace_id> (documentation: `trace_json` builds it)."""

    trace_id = serializers.CharField()
    span_count = serializers.IntegerField()
    truncated = serializers.BooleanField(help_text="True when the trace had more spans than shown.")
    spans = SpanSerializer(many=True, help_text="The root span(s), each with its children.")


def trace_json(
    trace_id: str, roots: list[dict[str, Any]], span_count: int, truncated: bool
) -> dict:
    """Return the trace answer, shaping every span of the tree in place."""
    stack = list(roots)
    while stack:
        node = stack.pop()
        _shape_span(node)
        stack.extend(node["children"])
    return {"trace_id": trace_id, "span_count": span_count, "truncated": truncated, "spans": roots}


def _shape_span(node: dict[str, Any]) -> None:
    node["parent_span_id"] = node["parent_span_id"] or None
    node["start"] = rfc3339(node["start_ns"])
    node["end"] = rfc3339(node["end_ns"])
