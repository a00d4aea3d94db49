"""OTLP items read through the lean views decode as the full opentelemetry-proto classes did.

The references below are the former decoders, which read every field through the full classes.
"""

import itertools
import time
from typing import Any

import orjson
import pytest
from django.db.models import F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from apps.ingest import otlp
from apps.ingest import validation as check
from apps.ingest.constants import MAX_BODY_LEN, MAX_NAME_LEN, SPAN_KINDS
from apps.ingest.models import ScrubRule
from apps.ingest.scrub import BUILTIN_RULES, Ruleset, ruleset_build
from apps.ingest.validation import ItemError
from apps.logs.constants import severity_text_for
from apps.logs.services import LogIn
from apps.metrics.models import Point, PointHead
from apps.metrics.services import PointBatch, points_write, points_write_batch
from apps.traces.services import SpanIn

RULES = ruleset_build(
    [ScrubRule(name=n, kind=k, pattern=p, verify=v) for n, k, p, v, _ in BUILTIN_RULES]
)
NOW_NS = time.time_ns()
CLOCK = check.clock(NOW_NS)


# --- the former decoders ----------------------------------------------------------------------


def _attributes(pairs, rules: Ruleset) -> dict[str, Any]:
    return rules.attributes(check.attributes(otlp.key_values(pairs)))


def _reference_span(span, service: str, resource: dict, rules: Ruleset) -> SpanIn:
    start_ns = check.in_window(span.start_time_unix_nano, "start_time_unix_nano", clock=CLOCK)
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
        status=otlp.STATUS_BY_CODE.get(span.status.code, "UNSET"),
        status_message=check.text(span.status.message, "status.message", MAX_NAME_LEN),
        attributes=_attributes(span.attributes, rules),
        events=[
            {
                "name": check.truncate(event.name, MAX_NAME_LEN),
                "time_ns": event.time_unix_nano,
                "attributes": _attributes(event.attributes, rules),
            }
            for event in span.events
        ],
        resource=resource,
    )


def _reference_log(record, service: str, resource: dict, rules: Ruleset) -> LogIn:
    ts_ns = record.time_unix_nano or record.observed_time_unix_nano or CLOCK.now_ns
    body = otlp.any_value(record.body)
    if not isinstance(body, str):
        body = "" if body is None else orjson.dumps(body).decode()
    number = record.severity_number if 0 <= record.severity_number <= 24 else 0
    return LogIn(
        ts_ns=check.in_window(ts_ns, "time_unix_nano", clock=CLOCK),
        severity_number=number,
        severity_text=check.truncate(record.severity_text, 32) or severity_text_for(number),
        body=rules.text(check.truncate(body, MAX_BODY_LEN)),
        service=service,
        attributes=_attributes(record.attributes, rules),
        resource=resource,
        trace_id=check.optional_hex_id(record.trace_id.hex(), 32, "trace_id"),
        span_id=check.optional_hex_id(record.span_id.hex(), 16, "span_id"),
    )


def _reference(resources, scopes: str, items: str, build, label) -> otlp.Decoded:
    decoded = otlp.Decoded()
    for resource_items in resources:
        service = otlp.service_of(resource_items.resource)
        resource = RULES.attributes(otlp.key_values(resource_items.resource.attributes))
        for scope in getattr(resource_items, scopes):
            for item in getattr(scope, items):
                try:
                    decoded.items.append(build(item, service, resource, RULES))
                except ItemError as exc:
                    decoded.refuse(f"{label(item)}: {exc}")
    return decoded


# --- strategies -------------------------------------------------------------------------------

_texts = st.sampled_from(
    ["GET", "a@example.com", "Bearer abc.def", "4111 1111 1111 1111", "x" * 5000, "", "é"]
)
_scalars = st.one_of(
    st.builds(lambda v: AnyValue(string_value=v), _texts),
    st.builds(lambda v: AnyValue(int_value=v), st.integers(-(2**63), 2**63 - 1)),
    st.builds(lambda v: AnyValue(bool_value=v), st.booleans()),
    st.builds(lambda v: AnyValue(double_value=v), st.floats()),
    st.builds(lambda v: AnyValue(bytes_value=v), st.binary(max_size=4)),
    st.just(AnyValue()),
)


def _nested(children):
    def array(values):
        value = AnyValue()
        value.array_value.values.extend(values)
        return value

    def kvlist(pairs):
        value = AnyValue()
        value.kvlist_value.values.extend(KeyValue(key=k, value=v) for k, v in pairs)
        return value

    return st.one_of(
        st.builds(array, st.lists(children, max_size=3)),
        st.builds(kvlist, st.lists(st.tuples(_keys, children), max_size=3)),
    )


_keys = st.sampled_from(["http.route", "password", "db.system", "", "k" * 300, "api_key"])
_values = st.recursive(_scalars, _nested, max_leaves=5)
_attribute_lists = st.lists(
    st.builds(lambda k, v: KeyValue(key=k, value=v), _keys, _values), max_size=4
)
_ids16 = st.sampled_from([bytes(range(1, 17)), bytes(16), b"", bytes(range(1, 9)), b"\x01" * 17])
_ids8 = st.sampled_from([bytes(range(1, 9)), bytes(8), b"", bytes(range(1, 17)), b"\x02" * 7])
_times = st.sampled_from([NOW_NS - 10**9, NOW_NS, NOW_NS + 5 * 10**8, 0, NOW_NS + 10**13])


def _set_attributes(repeated, pairs) -> None:
    for pair in pairs:
        repeated.add().CopyFrom(pair)


@st.composite
def _trace_requests(draw) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    for _ in range(draw(st.integers(1, 2))):
        resource_spans = request.resource_spans.add()
        service = draw(st.sampled_from(["api", "", "a@example.com"]))
        resource_spans.resource.attributes.add(key="service.name").value.string_value = service
        _set_attributes(resource_spans.resource.attributes, draw(_attribute_lists))
        for _ in range(draw(st.integers(0, 4))):
            span = resource_spans.scope_spans.add().spans.add(
                name=draw(st.sampled_from(["GET /", "n" * 600, ""])),
                kind=draw(st.integers(-1, 7)),
                trace_id=draw(_ids16),
                span_id=draw(_ids8),
                parent_span_id=draw(_ids8),
                start_time_unix_nano=draw(_times),
                end_time_unix_nano=draw(_times),
            )
            span.status.code = draw(st.integers(0, 3))
            span.status.message = draw(_texts)
            _set_attributes(span.attributes, draw(_attribute_lists))
            for _ in range(draw(st.integers(0, 2))):
                event = span.events.add(name=draw(_texts), time_unix_nano=draw(_times))
                _set_attributes(event.attributes, draw(_attribute_lists))
    return request


@st.composite
def _logs_requests(draw) -> ExportLogsServiceRequest:
    request = ExportLogsServiceRequest()
    resource_logs = request.resource_logs.add()
    resource_logs.resource.attributes.add(key="service.name").value.string_value = "api"
    scope = resource_logs.scope_logs.add()
    for _ in range(draw(st.integers(0, 5))):
        record = scope.log_records.add(
            time_unix_nano=draw(_times),
            observed_time_unix_nano=draw(_times),
            severity_number=draw(st.integers(-1, 30)),
            severity_text=draw(st.sampled_from(["", "WARN", "w" * 40])),
            trace_id=draw(_ids16),
            span_id=draw(_ids8),
        )
        record.body.CopyFrom(draw(_values))
        _set_attributes(record.attributes, draw(_attribute_lists))
    return request


def _decoded(decoded: otlp.Decoded) -> tuple:
    return decoded.items, decoded.rejected, decoded.reasons


# --- spans and logs ---------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(request=_trace_requests())
def test_spans_read_through_the_lean_view_are_the_spans_the_full_classes_gave(request):
    body = request.SerializeToString()
    message = ExportTraceServiceRequest.FromString(body)

    lean = otlp.spans(message, clock=CLOCK, rules=RULES, body=body)

    label = lambda span: f"span {span.name[:60]!r}"  # noqa: E731
    reference = _reference(message.resource_spans, "scope_spans", "spans", _reference_span, label)
    assert _decoded(lean) == _decoded(reference)


@settings(max_examples=200, deadline=None)
@given(request=_logs_requests())
def test_log_records_read_through_the_lean_view_are_those_the_full_classes_gave(request):
    body = request.SerializeToString()
    message = ExportLogsServiceRequest.FromString(body)

    lean = otlp.log_records(message, clock=CLOCK, rules=RULES, body=body)

    label = lambda record: "log record"  # noqa: E731
    reference = _reference(
        message.resource_logs, "scope_logs", "log_records", _reference_log, label
    )
    assert _decoded(lean) == _decoded(reference)


def test_a_request_that_came_as_json_is_read_through_the_lean_view_too():
    request = ExportTraceServiceRequest()
    span = request.resource_spans.add().scope_spans.add().spans.add(name="GET /")
    span.trace_id, span.span_id = bytes(range(1, 17)), bytes(range(1, 9))
    span.start_time_unix_nano = span.end_time_unix_nano = NOW_NS
    span.attributes.add(key="user").value.string_value = "a@example.com"

    decoded = otlp.spans(request, clock=CLOCK, rules=RULES, body=None)

    assert decoded.items[0].attributes == {"user": "[scrubbed]"}


# --- metric points ----------------------------------------------------------------------------

_examples = itertools.count()


@st.composite
def _metric_requests(draw, service: str) -> ExportMetricsServiceRequest:
    request = ExportMetricsServiceRequest()
    resource_metrics = request.resource_metrics.add()
    resource_metrics.resource.attributes.add(key="service.name").value.string_value = service
    for _ in range(draw(st.integers(1, 3))):
        metric = resource_metrics.scope_metrics.add().metrics.add(
            name=draw(st.sampled_from(["requests_total", "depth", "bad name"])),
            unit=draw(st.sampled_from(["", "s"])),
        )
        kind = draw(st.sampled_from(["gauge", "sum", "sum_delta", "histogram"]))
        if kind == "histogram":
            point = metric.histogram.data_points.add(count=2, sum=1.0, time_unix_nano=NOW_NS)
            point.bucket_counts.extend([1, 1])
            point.explicit_bounds.append(0.5)
            continue
        data = metric.gauge if kind == "gauge" else metric.sum
        if kind.startswith("sum"):
            metric.sum.is_monotonic = draw(st.booleans())
            metric.sum.aggregation_temporality = 1 if kind == "sum_delta" else 2
        for _ in range(draw(st.integers(0, 4))):
            point = data.data_points.add(time_unix_nano=draw(_times))
            value = draw(st.floats() | st.integers(-(2**63), 2**63 - 1))
            if isinstance(value, float):
                point.as_double = value
            else:
                point.as_int = value
            _set_attributes(point.attributes, draw(_attribute_lists))
    return request


def _former_points(message: ExportMetricsServiceRequest) -> tuple[list, otlp.Decoded]:
    decoded, points = otlp.Decoded(), []
    for resource_metrics in message.resource_metrics:
        service = otlp.service_of(resource_metrics.resource)
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                points.extend(otlp._metric_points(metric, service, CLOCK, decoded))
    return points, decoded


@pytest.mark.django_db
@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_metric_points_read_through_the_lean_view_store_what_the_full_classes_stored(
    data, django_capture_on_commit_callbacks
):
    example = next(_examples)  # the database is not reset between examples
    old = data.draw(_metric_requests(f"old{example}"))
    new = ExportMetricsServiceRequest.FromString(old.SerializeToString().replace(b"old", b"new"))

    with django_capture_on_commit_callbacks(execute=True):
        points, former = _former_points(old)
        stored_before = points_write(points=points)
        lean = otlp.metric_points(new, clock=CLOCK, body=new.SerializeToString())
        stored_now = points_write_batch(batch=lean.items)

    assert isinstance(lean.items, PointBatch)
    assert lean.rejected + len(stored_now.rejected) == former.rejected + len(stored_before.rejected)
    assert stored_now.accepted == stored_before.accepted
    assert _points(f"new{example}") == _points(f"old{example}")


def _points(service: str) -> list[tuple]:
    rows, values = [], []
    for model in (Point, PointHead):
        found = model.objects.filter(series__service=service)
        rows += found.values_list(
            "series__name", "series__type", "series__temporality", "series__labels_text", "ts_ms"
        )
        values += found.annotate(v=F("value")).values_list("ts_ms", "v")
    return sorted(rows), sorted(values)
