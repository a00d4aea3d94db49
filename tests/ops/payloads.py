"""Telemetry bodies the operations tests send: OTLP/protobuf requests of one item each."""

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs
from opentelemetry.proto.metrics.v1.metrics_pb2 import (
    Gauge,
    Metric,
    NumberDataPoint,
    ResourceMetrics,
    ScopeMetrics,
)
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span


def _resource() -> Resource:
    return Resource(attributes=[KeyValue(key="service.name", value=AnyValue(string_value="otel"))])


def otlp_metrics(tag: str, now_ns: int) -> bytes:
    """A gauge point of `outage_otlp`, labelled round=`tag`."""
    point = NumberDataPoint(time_unix_nano=now_ns, as_double=1.0)
    point.attributes.append(KeyValue(key="round", value=AnyValue(string_value=tag)))
    metric = Metric(name="outage_otlp", gauge=Gauge(data_points=[point]))
    scope = ScopeMetrics(metrics=[metric])
    return ExportMetricsServiceRequest(
        resource_metrics=[ResourceMetrics(resource=_resource(), scope_metrics=[scope])]
    ).SerializeToString()


def otlp_traces(tag: str, trace_id: str, now_ns: int) -> bytes:
    """One span named "otlp `tag`" of the trace `trace_id` (32 hex digits)."""
    span = Span(
        trace_id=bytes.fromhex(trace_id),
        span_id=bytes.fromhex(trace_id[:16]),
        name=f"otlp {tag}",
        start_time_unix_nano=now_ns,
        end_time_unix_nano=now_ns + 1000,
    )
    scope = ScopeSpans(spans=[span])
    return ExportTraceServiceRequest(
        resource_spans=[ResourceSpans(resource=_resource(), scope_spans=[scope])]
    ).SerializeToString()


def otlp_logs(tag: str, now_ns: int) -> bytes:
    """One log record whose body is "otlp `tag`"."""
    record = LogRecord(time_unix_nano=now_ns, body=AnyValue(string_value=f"otlp {tag}"))
    scope = ScopeLogs(log_records=[record])
    return ExportLogsServiceRequest(
        resource_logs=[ResourceLogs(resource=_resource(), scope_logs=[scope])]
    ).SerializeToString()
