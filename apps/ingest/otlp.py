"""OTLP/HTTP decoding: protobuf or OTLP/JSON requests → the storage apps' items.

OTLP/JSON carries trace and span ids as hex, where protobuf's JSON mapping expects base64, so
ids are converted before parsing (json_format would silently misread hex as base64).
"""

import base64
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson
from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message

from apps.ingest import validation as check
from apps.ingest.constants import (
    DEFAULT_SERVICE,
    MAX_BODY_LEN,
    MAX_NAME_LEN,
    MAX_SERVICE_LEN,
    SPAN_KINDS,
)
from apps.ingest.scrub import Ruleset
from apps.ingest.validation import ItemError
from apps.logs.constants import severity_text_for
from apps.logs.services import LogIn
from apps.metrics.services import PointIn
from apps.traces.services import SpanIn

ID_FIELDS = frozenset({"traceId", "spanId", "parentSpanId"})
STATUS_BY_CODE = {0: "UNSET", 1: "OK", 2: "ERROR"}


class BadRequest(ValueError):
    """The whole request cannot be decoded."""


@dataclass
class Decoded:
    """Items ready for storage, and how many items were refused with the first few reasons."""

    items: list = field(default_factory=list)
    rejected: int = 0
    reasons: list[str] = field(default_factory=list)

    def refuse(self, message: str) -> None:
        self.rejected += 1
        if len(self.reasons) < 10:
            self.reasons.append(message)


def parse(body: bytes, *, is_json: bool, message_class: type[Message]) -> Message:
    """Parse a request body of either encoding into the Export…ServiceRequest message."""
    message = message_class()
    try:
        if is_json:
            document = orjson.loads(body)
            json_format.ParseDict(_ids_to_base64(document), message, ignore_unknown_fields=True)
        else:
            message.ParseFromString(body)
    except (
        DecodeError,
        json_format.ParseError,
        orjson.JSONDecodeError,
        RecursionError,
        TypeError,
        ValueError,
    ) as exc:
        raise BadRequest(f"The body is not a valid {message_class.__name__}: {exc}") from exc
    return message


def _ids_to_base64(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            key: _id_value(value) if key in ID_FIELDS else _ids_to_base64(value)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_ids_to_base64(item) for item in node]
    return node


def _id_value(value: Any) -> str:
    # A malformed id becomes empty and is refused per item by validation.
    try:
        return base64.b64encode(bytes.fromhex(value)).decode() if isinstance(value, str) else ""
    except ValueError:
        return ""


def answer(response: Message, *, as_json: bool) -> tuple[bytes, str]:
    """Serialise an Export…ServiceResponse in the request's encoding."""
    if as_json:
        return orjson.dumps(json_format.MessageToDict(response)), "application/json"
    return response.SerializeToString(), "application/x-protobuf"


# --- attribute values ------------------------------------------------------------------------


def any_value(value: Any) -> Any:
    """Convert an OTLP AnyValue to plain JSON-safe Python."""
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [any_value(item) for item in value.array_value.values]
    if kind == "kvlist_value":
        return key_values(value.kvlist_value.values)
    if kind == "bytes_value":
        return value.bytes_value.hex()
    if kind == "double_value" and not math.isfinite(value.double_value):
        return str(value.double_value)
    return getattr(value, kind)


def key_values(pairs: Iterable[Any]) -> dict[str, Any]:
    return {pair.key: any_value(pair.value) for pair in pairs}


def service_of(resource: Any) -> str:
    for pair in resource.attributes:
        if pair.key == "service.name" and pair.value.string_value:
            return check.truncate(pair.value.string_value, MAX_SERVICE_LEN)
    return DEFAULT_SERVICE


# --- metrics ---------------------------------------------------------------------------------


def metric_points(request: Message, *, clock: check.Clock) -> Decoded:
    """Flatten every data point of an ExportMetricsServiceRequest into PointIn items."""
    decoded = Decoded()
    for resource_metrics in request.resource_metrics:
        service = service_of(resource_metrics.resource)
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                for point in _metric_points(metric, service, clock, decoded):
                    decoded.items.append(point)
    return decoded


def _metric_points(
    metric: Any, service: str, clock: check.Clock, decoded: Decoded
) -> Iterator[PointIn]:
    kind = metric.WhichOneof("data")
    data_points = getattr(metric, kind).data_points if kind else []
    for data_point in data_points:
        try:
            name = check.metric_name(metric.name)
            yield _POINT_BUILDERS[kind](metric, data_point, name, service, clock)
        except ItemError as exc:
            decoded.refuse(f"{metric.name[:60]}: {exc}")


def _base(
    name: str, kind: str, service: str, data_point: Any, clock: check.Clock, unit: str
) -> dict:
    ts_ns = data_point.time_unix_nano or clock.now_ns
    return {
        "name": name,
        "type": kind,
        "service": service,
        "unit": unit,
        "labels": check.labels(key_values(data_point.attributes)),
        "ts_ms": check.in_window(ts_ns, "time_unix_nano", clock=clock) // 1_000_000,
    }


def _number(data_point: Any) -> float:
    which = data_point.WhichOneof("value")
    raw = data_point.as_int if which == "as_int" else data_point.as_double
    return check.finite(raw, "value")


def _temporality(code: int) -> str:
    return "delta" if code == 1 else "cumulative"


def _sum_point(metric, data_point, name, service, clock) -> PointIn:
    kind = "counter" if metric.sum.is_monotonic else "gauge"
    return PointIn(
        **_base(name, kind, service, data_point, clock, metric.unit),
        value=_number(data_point),
        temporality=_temporality(metric.sum.aggregation_temporality),
    )


def _gauge_point(metric, data_point, name, service, clock) -> PointIn:
    return PointIn(
        **_base(name, "gauge", service, data_point, clock, metric.unit), value=_number(data_point)
    )


def _histogram_point(metric, data_point, name, service, clock) -> PointIn:
    bounds = [check.finite(b, "explicit_bounds") for b in data_point.explicit_bounds]
    counts = list(data_point.bucket_counts) or [data_point.count]
    if counts and len(counts) != len(bounds) + 1:
        raise ItemError("bucket_counts must have one more entry than explicit_bounds")
    return PointIn(
        **_base(name, "histogram", service, data_point, clock, metric.unit),
        count=data_point.count,
        sum=check.finite(data_point.sum, "sum"),
        bounds=bounds,
        bucket_counts=counts,
        temporality=_temporality(metric.histogram.aggregation_temporality),
    )


def _exponential_point(metric, data_point, name, service, clock) -> PointIn:
    bounds, counts = exponential_to_explicit(data_point)
    return PointIn(
        **_base(name, "histogram", service, data_point, clock, metric.unit),
        count=data_point.count,
        sum=check.finite(data_point.sum, "sum"),
        bounds=bounds,
        bucket_counts=counts,
        temporality=_temporality(metric.exponential_histogram.aggregation_temporality),
    )


def exponential_to_explicit(data_point: Any) -> tuple[list[float], list[int]]:
    """Return explicit upper bounds and per-bucket counts for an exponential histogram point:
    bucket i of the positive range holds (base^i, base^(i+1)], base = 2^(2^-scale)."""
    base = 2.0 ** (2.0**-data_point.scale)
    buckets: list[tuple[float, int]] = []
    for offset, count in enumerate(data_point.negative.bucket_counts):
        buckets.append((-(base ** (data_point.negative.offset + offset)), count))
    buckets.append((0.0, data_point.zero_count))
    for offset, count in enumerate(data_point.positive.bucket_counts):
        buckets.append((base ** (data_point.positive.offset + offset + 1), count))
    buckets.sort(key=lambda bucket: bucket[0])
    if not all(math.isfinite(bound) for bound, _ in buckets):
        raise ItemError("exponential histogram bounds overflow")
    return [bound for bound, _ in buckets], [count for _, count in buckets] + [0]


def _summary_point(metric, data_point, name, service, clock) -> PointIn:
    quantiles = {
        repr(q.quantile): check.finite(q.value, "quantile value")
        for q in data_point.quantile_values
    }
    return PointIn(
        **_base(name, "summary", service, data_point, clock, metric.unit),
        count=data_point.count,
        sum=check.finite(data_point.sum, "sum"),
        quantiles=quantiles,
    )


_POINT_BUILDERS = {
    "sum": _sum_point,
    "gauge": _gauge_point,
    "histogram": _histogram_point,
    "exponential_histogram": _exponential_point,
    "summary": _summary_point,
}


# --- traces ----------------------------------------------------------------------------------


def _each_item(
    resources: Iterable[Any], scopes: str, items: str, build, label, rules: Ruleset
) -> Decoded:
    """Build every item under resources → scopes → items; refusals name the item and why."""
    decoded = Decoded()
    for resource_items in resources:
        service = service_of(resource_items.resource)
        resource = rules.attributes(key_values(resource_items.resource.attributes))
        for scope in getattr(resource_items, scopes):
            for item in getattr(scope, items):
                try:
                    decoded.items.append(build(item, service, resource))
                except ItemError as exc:
                    decoded.refuse(f"{label(item)}: {exc}")
    return decoded


def spans(request: Message, *, clock: check.Clock, rules: Ruleset) -> Decoded:
    """Turn every span of an ExportTraceServiceRequest into a SpanIn."""
    return _each_item(
        request.resource_spans,
        "scope_spans",
        "spans",
        lambda span, service, resource: _span(span, service, resource, clock, rules),
        lambda span: f"span {span.name[:60]!r}",
        rules,
    )


def _span(span: Any, service: str, resource: dict, clock: check.Clock, rules: Ruleset) -> SpanIn:
    start_ns = check.in_window(span.start_time_unix_nano, "start_time_unix_nano", clock=clock)
    if span.end_time_unix_nano < start_ns:
        raise ItemError("end_time_unix_nano is before start_time_unix_nano")
    return SpanIn(
        trace_id=check.hex_id(span.trace_id.hex(), 32, "trace_id"),
        span_id=check.hex_id(span.span_id.hex(), 16, "span_id"),
        parent_span_id=check.optional_hex_id(span.parent_span_id.hex(), 16, "parent_span_id"),
        service=service,
        name=check.text(span.name, "name", MAX_NAME_LEN),
        kind=SPAN_KINDS[span.kind] if 0 <= span.kind < len(SPAN_KINDS) else "unspecified",
        start_ns=start_ns,
        end_ns=span.end_time_unix_nano,
        status=STATUS_BY_CODE.get(span.status.code, "UNSET"),
        status_message=check.text(span.status.message, "status.message", MAX_NAME_LEN),
        attributes=rules.attributes(check.attributes(key_values(span.attributes))),
        events=[_event(event, rules) for event in span.events],
        resource=resource,
    )


def _event(event: Any, rules: Ruleset) -> dict[str, Any]:
    return {
        "name": check.truncate(event.name, MAX_NAME_LEN),
        "time_ns": event.time_unix_nano,
        "attributes": rules.attributes(check.attributes(key_values(event.attributes))),
    }


# --- logs ------------------------------------------------------------------------------------


def log_records(request: Message, *, clock: check.Clock, rules: Ruleset) -> Decoded:
    """Turn every record of an ExportLogsServiceRequest into a LogIn."""
    return _each_item(
        request.resource_logs,
        "scope_logs",
        "log_records",
        lambda record, service, resource: _log(record, service, resource, clock, rules),
        lambda record: "log record",
        rules,
    )


def _log(record: Any, service: str, resource: dict, clock: check.Clock, rules: Ruleset) -> LogIn:
    ts_ns = record.time_unix_nano or record.observed_time_unix_nano or clock.now_ns
    body = any_value(record.body)
    if not isinstance(body, str):
        body = "" if body is None else orjson.dumps(body).decode()
    number = record.severity_number if 0 <= record.severity_number <= 24 else 0
    return LogIn(
        ts_ns=check.in_window(ts_ns, "time_unix_nano", clock=clock),
        severity_number=number,
        severity_text=check.truncate(record.severity_text, 32) or severity_text_for(number),
        body=rules.text(check.truncate(body, MAX_BODY_LEN)),
        service=service,
        attributes=rules.attributes(check.attributes(key_values(record.attributes))),
        resource=resource,
        trace_id=check.optional_hex_id(record.trace_id.hex(), 32, "trace_id"),
        span_id=check.optional_hex_id(record.span_id.hex(), 16, "span_id"),
    )
