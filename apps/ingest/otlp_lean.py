"""Lean views of OTLP export requests, for the per-item loops of the hot path.

They read the same wire format through message types that declare only the fields those loops
read, and declare attributes (KeyValue messages) as their wire bytes. Through the full
opentelemetry-proto classes every attribute is a KeyValue object holding an AnyValue object,
built when read; here an item's attributes are plain bytes, which also serve as memo keys (an
attribute met before in the batch is not decoded again). Every request is still parsed by the
full classes first, which validate it and give the rest (resources, metric kinds); the lean
view is parsed from the same body and walked in step with the full one.

Singular message fields stay messages here (as the full classes, they merge when repeated on
the wire), and oneofs are declared as oneofs, so that both views agree on every field read; a
log record's body (an AnyValue) is read from the full view.
"""

from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import Message

_F = descriptor_pb2.FieldDescriptorProto
_PACKAGE = "aivmon.otlp_lean"

# name → fields as (field name, number, type, repeated, message type name or None, oneof or None)
_MESSAGES: dict[str, list[tuple[str, int, int, bool, str | None, str | None]]] = {
    "TracesRequest": [("resource_spans", 1, _F.TYPE_MESSAGE, True, "ResourceSpans", None)],
    "ResourceSpans": [("scope_spans", 2, _F.TYPE_MESSAGE, True, "ScopeSpans", None)],
    "ScopeSpans": [("spans", 2, _F.TYPE_MESSAGE, True, "Span", None)],
    "Span": [
        ("trace_id", 1, _F.TYPE_BYTES, False, None, None),
        ("span_id", 2, _F.TYPE_BYTES, False, None, None),
        ("parent_span_id", 4, _F.TYPE_BYTES, False, None, None),
        ("name", 5, _F.TYPE_STRING, False, None, None),
        ("kind", 6, _F.TYPE_INT32, False, None, None),  # an enum on the wire: a varint
        ("start_time_unix_nano", 7, _F.TYPE_FIXED64, False, None, None),
        ("end_time_unix_nano", 8, _F.TYPE_FIXED64, False, None, None),
        ("attributes", 9, _F.TYPE_BYTES, True, None, None),
        ("events", 11, _F.TYPE_MESSAGE, True, "Event", None),
        ("status", 15, _F.TYPE_MESSAGE, False, "Status", None),
    ],
    "Event": [
        ("time_unix_nano", 1, _F.TYPE_FIXED64, False, None, None),
        ("name", 2, _F.TYPE_STRING, False, None, None),
        ("attributes", 3, _F.TYPE_BYTES, True, None, None),
    ],
    "Status": [
        ("message", 2, _F.TYPE_STRING, False, None, None),
        ("code", 3, _F.TYPE_INT32, False, None, None),
    ],
    "LogsRequest": [("resource_logs", 1, _F.TYPE_MESSAGE, True, "ResourceLogs", None)],
    "ResourceLogs": [("scope_logs", 2, _F.TYPE_MESSAGE, True, "ScopeLogs", None)],
    "ScopeLogs": [("log_records", 2, _F.TYPE_MESSAGE, True, "LogRecord", None)],
    "LogRecord": [
        ("time_unix_nano", 1, _F.TYPE_FIXED64, False, None, None),
        ("severity_number", 2, _F.TYPE_INT32, False, None, None),  # an enum on the wire
        ("severity_text", 3, _F.TYPE_STRING, False, None, None),
        ("attributes", 6, _F.TYPE_BYTES, True, None, None),
        ("trace_id", 9, _F.TYPE_BYTES, False, None, None),
        ("span_id", 10, _F.TYPE_BYTES, False, None, None),
        ("observed_time_unix_nano", 11, _F.TYPE_FIXED64, False, None, None),
    ],
    "MetricsRequest": [("resource_metrics", 1, _F.TYPE_MESSAGE, True, "ResourceMetrics", None)],
    "ResourceMetrics": [("scope_metrics", 2, _F.TYPE_MESSAGE, True, "ScopeMetrics", None)],
    "ScopeMetrics": [("metrics", 2, _F.TYPE_MESSAGE, True, "Metric", None)],
    "Metric": [
        ("gauge", 5, _F.TYPE_MESSAGE, False, "NumberPoints", "data"),
        ("sum", 7, _F.TYPE_MESSAGE, False, "NumberPoints", "data"),
        ("histogram", 9, _F.TYPE_BYTES, False, None, "data"),
        ("exponential_histogram", 10, _F.TYPE_BYTES, False, None, "data"),
        ("summary", 11, _F.TYPE_BYTES, False, None, "data"),
    ],
    "NumberPoints": [("data_points", 1, _F.TYPE_MESSAGE, True, "NumberDataPoint", None)],
    "NumberDataPoint": [
        ("time_unix_nano", 3, _F.TYPE_FIXED64, False, None, None),
        ("as_double", 4, _F.TYPE_DOUBLE, False, None, "value"),
        ("as_int", 6, _F.TYPE_SFIXED64, False, None, "value"),
        ("attributes", 7, _F.TYPE_BYTES, True, None, None),
    ],
}


def _pool() -> descriptor_pool.DescriptorPool:
    file = descriptor_pb2.FileDescriptorProto(
        name="aivmon_otlp_lean.proto", package=_PACKAGE, syntax="proto3"
    )
    for name, fields in _MESSAGES.items():
        message = file.message_type.add(name=name)
        oneofs: list[str] = []
        for field_name, number, kind, repeated, type_name, oneof in fields:
            field = message.field.add(name=field_name, number=number, type=kind)
            field.label = _F.LABEL_REPEATED if repeated else _F.LABEL_OPTIONAL
            if type_name:
                field.type_name = f".{_PACKAGE}.{type_name}"
            if oneof:
                if oneof not in oneofs:
                    oneofs.append(oneof)
                    message.oneof_decl.add(name=oneof)
                field.oneof_index = oneofs.index(oneof)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return pool


_POOL = _pool()


def _message_class(name: str) -> type[Message]:
    return message_factory.GetMessageClass(_POOL.FindMessageTypeByName(f"{_PACKAGE}.{name}"))


TracesRequest = _message_class("TracesRequest")
MetricsRequest = _message_class("MetricsRequest")
LogsRequest = _message_class("LogsRequest")


def lean(message_class: type[Message], request: Message, body: bytes | None) -> Any:
    """Return the lean view of `request`, parsed from `body` (the protobuf it was parsed
    from), or from the request written out again (when it came as OTLP/JSON)."""
    return message_class.FromString(request.SerializeToString() if body is None else body)
