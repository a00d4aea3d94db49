"""OTLP/HTTP decoding: protobuf or OTLP/JSON requests → the storage apps' items.

OTLP/JSON carries trace and span ids as hex, where protobuf's JSON mapping expects base64, so
ids are converted before parsing (json_format would silently misread hex as base64).

The per-item loops read spans, log records and number data points through lean views of the
request (apps.ingest.otlp_lean), their attributes as wire bytes decoded once per batch; sums
and gauges become plain points for points_write_batch, named by alias, their series checked
only when the storage first meets it.
"""

import base64
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import orjson
from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from opentelemetry.proto.common.v1.common_pb2 import KeyValue

from apps.ingest import otlp_lean
from apps.ingest import validation as check
from apps.ingest.constants import (
    DEFAULT_SERVICE,
    MAX_ATTRIBUTE_KEY_LEN,
    MAX_ATTRIBUTE_VALUE_LEN,
    MAX_ATTRIBUTES,
    MAX_BODY_LEN,
    MAX_NAME_LEN,
    MAX_SERVICE_LEN,
    SCRUBBED,
    SPAN_KINDS,
)
from apps.ingest.scrub import Ruleset
from apps.ingest.validation import ItemError
from apps.logs.constants import severity_text_for
from apps.logs.services import LogIn
from apps.metrics.services import PointBatch, PointIn, SeriesIn
from apps.traces.services import SpanIn

ID_FIELDS = frozenset({"traceId", "spanId", "parentSpanId"})
STATUS_BY_CODE = {0: "UNSET", 1: "OK", 2: "ERROR"}
# A malformed hex id becomes one byte, a length no id has, so that validation refuses its item
# as it refuses a protobuf id of the wrong length (read as empty, a log's id would be dropped).
_BAD_ID = base64.b64encode(b"\xff").decode()


class BadRequest(ValueError):
    """The whole request cannot be decoded."""


@dataclass
class Decoded:
    """Items ready for storage, and how many items were refused with the first few reasons."""

    items: Any = field(default_factory=list)  # a list, or a PointBatch
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
            if not isinstance(document, dict):
                raise BadRequest(f"The body is not a valid {message_class.__name__}: not an object")
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
    """Return a hex id as base64; an absent or empty id stays empty (OTLP's "no id")."""
    if value is None or value == "":
        return ""
    if not isinstance(value, str):
        return _BAD_ID
    try:
        return base64.b64encode(bytes.fromhex(value)).decode()
    except ValueError:
        return _BAD_ID


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


def metric_points(request: Message, *, clock: check.Clock, body: bytes | None = None) -> Decoded:
    """Flatten every data point of an ExportMetricsServiceRequest (parsed from `body`, if it
    came as protobuf) into a PointBatch: sums and gauges as plain points, the other kinds as
    PointIn."""
    batch = PointBatch()
    batch.describe = partial(_plain_series, batch.aliases)
    decoded = Decoded(items=batch)
    lean_request = otlp_lean.lean(otlp_lean.MetricsRequest, request, body)
    for resource_metrics, lean_resource in zip(
        request.resource_metrics, lean_request.resource_metrics, strict=True
    ):
        service = service_of(resource_metrics.resource)
        for scope_metrics, lean_scope in zip(
            resource_metrics.scope_metrics, lean_resource.scope_metrics, strict=True
        ):
            for metric, lean_metric in zip(scope_metrics.metrics, lean_scope.metrics, strict=True):
                kind = metric.WhichOneof("data")
                if kind == "gauge" or kind == "sum":
                    points = getattr(lean_metric, kind).data_points
                    _plain_points(metric, kind, points, service, clock, batch, decoded)
                else:
                    for point in _metric_points(metric, service, clock, decoded):
                        _add_other(batch, point)
    return decoded


def _add_other(batch: PointBatch, point: PointIn) -> None:
    # Positions run over plain and other points alike: the first point of a series sets its type.
    batch.other_positions.append(len(batch.positions) + len(batch.others))
    batch.others.append(point)


def _plain_points(
    metric: Any,
    kind: str,
    data_points: Any,
    service: str,
    clock: check.Clock,
    batch: PointBatch,
    decoded: Decoded,
) -> None:
    """Add the (lean) data points of a sum or gauge as plain points: value and time checked
    here, the series (name, labels) by _plain_series when the storage first meets it."""
    if kind == "sum":
        point_type = "counter" if metric.sum.is_monotonic else "gauge"
        temporality = _temporality(metric.sum.aggregation_temporality)
    else:
        point_type, temporality = "gauge", "cumulative"
    series = ("otlp", metric.name, point_type, temporality, metric.unit, service)
    now_ns, oldest_ns, newest_ns = clock.now_ns, clock.oldest_ns, clock.newest_ns
    aliases, stamps, values, positions = batch.aliases, batch.ts_ms, batch.values, batch.positions
    for data_point in data_points:
        ts_ns = data_point.time_unix_nano or now_ns
        if data_point.WhichOneof("value") == "as_int":
            value = float(data_point.as_int)
        else:
            value = data_point.as_double
        if not (oldest_ns <= ts_ns <= newest_ns and value - value == 0.0):
            _refuse_point(metric.name, ts_ns, value, clock, decoded)
            continue
        # An attribute's wire bytes name its key and typed value exactly.
        aliases.append((series, tuple(data_point.attributes)))
        stamps.append(ts_ns // 1_000_000)
        values.append(value)
        positions.append(len(positions) + len(batch.others))


def _refuse_point(
    name: str, ts_ns: int, value: float, clock: check.Clock, decoded: Decoded
) -> None:
    try:
        check.in_window(ts_ns, "time_unix_nano", clock=clock)
        check.finite(value, "value")
    except ItemError as exc:
        decoded.refuse(f"{name[:60]}: {exc}")


def _plain_series(aliases: list, index: int) -> SeriesIn:
    """Check and return the series of plain point `index`, from its alias."""
    (_, name, point_type, temporality, unit, service), attributes = aliases[index]
    try:
        return SeriesIn(
            name=check.metric_name(name),
            type=point_type,
            service=service,
            labels=check.labels(key_values(map(KeyValue.FromString, attributes))),
            unit=unit,
            temporality=temporality,
        )
    except ItemError as exc:
        raise ItemError(f"{name[:60]}: {exc}") from exc


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


# Sums and gauges take the plain way (metric_points); their builders stay the reference for it.
_POINT_BUILDERS = {
    "sum": _sum_point,
    "gauge": _gauge_point,
    "histogram": _histogram_point,
    "exponential_histogram": _exponential_point,
    "summary": _summary_point,
}


# --- traces ----------------------------------------------------------------------------------


def spans(
    request: Message, *, clock: check.Clock, rules: Ruleset, body: bytes | None = None
) -> Decoded:
    """Turn every span of an ExportTraceServiceRequest (parsed from `body`, if it came as
    protobuf) into a SpanIn, reading the spans through the lean view."""
    decoded = Decoded()
    attributes = Attributes(rules)
    lean_request = otlp_lean.lean(otlp_lean.TracesRequest, request, body)
    for resource_spans, lean_resource in zip(
        request.resource_spans, lean_request.resource_spans, strict=True
    ):
        service = service_of(resource_spans.resource)
        resource = rules.attributes(key_values(resource_spans.resource.attributes))
        for scope in lean_resource.scope_spans:
            for span in scope.spans:
                try:
                    decoded.items.append(_span(span, service, resource, clock, attributes))
                except ItemError as exc:
                    decoded.refuse(f"span {span.name[:60]!r}: {exc}")
    return decoded


_NO_TRACE_ID, _NO_SPAN_ID = bytes(16), bytes(8)


def _span(
    span: Any, service: str, resource: dict, clock: check.Clock, attributes: "Attributes"
) -> SpanIn:
    """Build a SpanIn from a lean span, as check's validators would."""
    start_ns, end_ns = span.start_time_unix_nano, span.end_time_unix_nano
    if not clock.oldest_ns <= start_ns <= clock.newest_ns:
        check.in_window(start_ns, "start_time_unix_nano", clock=clock)  # raises, saying why
    if end_ns < start_ns:
        raise ItemError("end_time_unix_nano is before start_time_unix_nano")
    trace_id, span_id, parent_id = span.trace_id, span.span_id, span.parent_span_id
    if len(trace_id) != 16 or trace_id == _NO_TRACE_ID:
        check.hex_id(trace_id.hex(), 32, "trace_id")  # raises, saying why
    if len(span_id) != 8 or span_id == _NO_SPAN_ID:
        check.hex_id(span_id.hex(), 16, "span_id")  # raises, saying why
    status, name, kind = span.status, span.name, span.kind
    if parent_id and (len(parent_id) != 8 or parent_id == _NO_SPAN_ID):
        parent = check.optional_hex_id(parent_id.hex(), 16, "parent_span_id")  # None or raises
    else:
        parent = parent_id.hex() or None
    return SpanIn(
        trace_id=trace_id.hex(),
        span_id=span_id.hex(),
        parent_span_id=parent,
        service=service,
        name=check.truncate(name, MAX_NAME_LEN),
        kind=SPAN_KINDS[kind] if 0 <= kind < len(SPAN_KINDS) else "unspecified",
        start_ns=start_ns,
        end_ns=end_ns,
        status=STATUS_BY_CODE.get(status.code, "UNSET"),
        status_message=check.truncate(status.message, MAX_NAME_LEN),
        attributes=attributes(span.attributes),
        events=[_event(event, attributes) for event in span.events] if span.events else [],
        resource=resource,
    )


def _event(event: Any, attributes: "Attributes") -> dict[str, Any]:
    return {
        "name": check.truncate(event.name, MAX_NAME_LEN),
        "time_ns": event.time_unix_nano,
        "attributes": attributes(event.attributes),
    }


class Attributes:
    """Attributes as wire bytes (KeyValue messages) → JSON-safe, checked and scrubbed: what
    `rules.attributes(check.attributes(key_values(pairs)))` makes, for one batch.

    Each distinct attribute of the batch is decoded and judged once; scalar values take this
    way, anything else (arrays, maps, too many or too long keys) the general one.
    """

    def __init__(self, rules: Ruleset) -> None:
        self.rules = rules
        self._pairs: dict[bytes, tuple[str, Any] | None] = {}
        self._secret_keys: dict[str, bool] = {}

    def __call__(self, pairs: Sequence[bytes]) -> dict[str, Any]:
        if len(pairs) > MAX_ATTRIBUTES:
            return self._general(pairs)
        converted: dict[str, Any] = {}
        known = self._pairs
        for raw in pairs:
            pair = known[raw] if raw in known else known.setdefault(raw, self._pair(raw))
            if pair is None:
                return self._general(pairs)
            converted[pair[0]] = pair[1]
        return converted

    def _pair(self, raw: bytes) -> tuple[str, Any] | None:
        pair = KeyValue.FromString(raw)
        key, value = pair.key, pair.value
        kind = value.WhichOneof("value")
        if kind == "string_value":
            item: Any = self._text(value.string_value)
        elif kind == "int_value" or kind == "bool_value":
            item = getattr(value, kind)
        elif kind == "double_value":
            number = value.double_value
            item = number if math.isfinite(number) else self._text(str(number))
        elif kind is None:
            item = None
        else:
            return None
        if len(key) > MAX_ATTRIBUTE_KEY_LEN:
            return None
        return key, SCRUBBED if self._secret(key) else item

    def _general(self, pairs: Sequence[bytes]) -> dict[str, Any]:
        attributes = key_values(map(KeyValue.FromString, pairs))
        return self.rules.attributes(check.attributes(attributes))

    def _secret(self, key: str) -> bool:
        secret = self._secret_keys.get(key)
        if secret is None:
            secret = bool(key) and any(pattern.search(key) for pattern in self.rules.keys)
            self._secret_keys[key] = secret
        return secret

    def _text(self, raw: str) -> str:
        return self.rules.text(check.truncate(raw, MAX_ATTRIBUTE_VALUE_LEN))


# --- logs ------------------------------------------------------------------------------------


def log_records(
    request: Message, *, clock: check.Clock, rules: Ruleset, body: bytes | None = None
) -> Decoded:
    """Turn every record of an ExportLogsServiceRequest (parsed from `body`, if it came as
    protobuf) into a LogIn, reading the records through the lean view."""
    decoded = Decoded()
    attributes = Attributes(rules)
    lean_request = otlp_lean.lean(otlp_lean.LogsRequest, request, body)
    for resource_logs, lean_resource in zip(
        request.resource_logs, lean_request.resource_logs, strict=True
    ):
        service = service_of(resource_logs.resource)
        resource = rules.attributes(key_values(resource_logs.resource.attributes))
        for scope, lean_scope in zip(
            resource_logs.scope_logs, lean_resource.scope_logs, strict=True
        ):
            for record, lean_record in zip(scope.log_records, lean_scope.log_records, strict=True):
                try:
                    log = _log(record, lean_record, service, resource, clock, attributes)
                    decoded.items.append(log)
                except ItemError as exc:
                    decoded.refuse(f"log record: {exc}")
    return decoded


def _log(
    record: Any,
    lean_record: Any,
    service: str,
    resource: dict,
    clock: check.Clock,
    attributes: Attributes,
) -> LogIn:
    """Build a LogIn from a record's full view (its body) and lean view (the rest)."""
    ts_ns = lean_record.time_unix_nano or lean_record.observed_time_unix_nano or clock.now_ns
    body = _body(record.body)
    number = lean_record.severity_number if 0 <= lean_record.severity_number <= 24 else 0
    trace_id, span_id = lean_record.trace_id, lean_record.span_id
    return LogIn(
        ts_ns=check.in_window(ts_ns, "time_unix_nano", clock=clock),
        severity_number=number,
        severity_text=check.truncate(lean_record.severity_text, 32) or severity_text_for(number),
        body=attributes.rules.text(check.truncate(body, MAX_BODY_LEN)),
        service=service,
        attributes=attributes(lean_record.attributes),
        resource=resource,
        trace_id=check.optional_hex_id(trace_id.hex(), 32, "trace_id") if trace_id else None,
        span_id=check.optional_hex_id(span_id.hex(), 16, "span_id") if span_id else None,
    )


def _body(value: Any) -> str:
    """A log body as text: a string as it is, anything else as JSON ("" for none)."""
    if value.WhichOneof("value") == "string_value":
        return value.string_value
    body = any_value(value)
    if isinstance(body, str):
        return body
    return "" if body is None else orjson.dumps(body).decode()
