"""OTLP/HTTP in both encodings, through the Django test client."""

import gzip
import time

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from tests.conftest import key_client

pytestmark = pytest.mark.django_db

TRACE_ID = "5b8efff798038103d269b633813fc60c"
SPAN_ID = "eee19b7ec3c1b174"
CHILD_ID = "eee19b7ec3c1b175"


def _now_ns() -> int:
    return time.time_ns()


def _trace_request(*spans: tuple[str, str, str]) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.add(key="service.name").value.string_value = "api"
    scope = resource_spans.scope_spans.add()
    for trace_id, span_id, parent_id in spans:
        span = scope.spans.add(name=f"op-{span_id[-2:]}", kind=2)
        span.trace_id = bytes.fromhex(trace_id)
        span.span_id = bytes.fromhex(span_id)
        span.parent_span_id = bytes.fromhex(parent_id) if parent_id else b""
        span.start_time_unix_nano = _now_ns() - 5_000_000
        span.end_time_unix_nano = _now_ns()
        span.attributes.add(key="http.route").value.string_value = "/x"
    return request


def _post_protobuf(client, path: str, message, **extra):
    return client.generic(
        "POST", path, message.SerializeToString(), content_type="application/x-protobuf", **extra
    )


def test_protobuf_spans_are_stored_and_answered_in_protobuf(ingest, reader):
    response = _post_protobuf(
        ingest,
        "/otlp/v1/traces",
        _trace_request((TRACE_ID, SPAN_ID, ""), (TRACE_ID, CHILD_ID, SPAN_ID)),
    )

    answer = ExportTraceServiceResponse.FromString(response.content)
    tree = reader.get(f"/api/v1/traces/{TRACE_ID}").json()
    assert response.status_code == 200 and response["Content-Type"] == "application/x-protobuf"
    assert not answer.HasField("partial_success")
    assert tree["spans"][0]["span_id"] == SPAN_ID
    assert tree["spans"][0]["children"][0]["span_id"] == CHILD_ID


def test_a_repeated_export_stores_each_span_once(ingest, reader):
    request = _trace_request((TRACE_ID, SPAN_ID, ""))
    _post_protobuf(ingest, "/otlp/v1/traces", request)
    _post_protobuf(ingest, "/otlp/v1/traces", request)

    summary = reader.get("/api/v1/traces").json()["results"]

    assert [s["span_count"] for s in summary] == [1]


def test_otlp_json_ids_are_read_as_hex_not_base64(ingest, reader):
    now = _now_ns()
    body = {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [{"key": "service.name", "value": {"stringValue": "web"}}]
                },
                "scopeSpans": [
                    {
                        "spans": [
                            {
                                "traceId": TRACE_ID,
                                "spanId": SPAN_ID,
                                "name": "GET /",
                                "kind": 2,
                                "startTimeUnixNano": str(now - 1_000_000),
                                "endTimeUnixNano": str(now),
                                "status": {"code": 1},
                            }
                        ]
                    }
                ],
            }
        ]
    }

    response = ingest.post("/otlp/v1/traces", body, content_type="application/json")

    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    spans = reader.get(f"/api/v1/traces/{TRACE_ID}").json()["spans"]
    assert spans[0]["span_id"] == SPAN_ID and spans[0]["status"] == "OK"


def test_bad_spans_are_refused_in_partial_success_and_good_ones_kept(ingest, reader):
    request = _trace_request((TRACE_ID, SPAN_ID, ""), ("00" * 16, CHILD_ID, ""))
    backwards = request.resource_spans[0].scope_spans[0].spans.add(name="backwards")
    backwards.trace_id, backwards.span_id = bytes.fromhex(TRACE_ID), bytes.fromhex("ab" * 8)
    now = _now_ns()
    backwards.start_time_unix_nano, backwards.end_time_unix_nano = now, now - 1_000

    answer = ExportTraceServiceResponse.FromString(
        _post_protobuf(ingest, "/otlp/v1/traces", request).content
    )

    assert answer.partial_success.rejected_spans == 2
    assert "trace_id" in answer.partial_success.error_message
    assert "before" in answer.partial_success.error_message
    assert reader.get("/api/v1/traces").json()["results"][0]["span_count"] == 1


def _metrics_request() -> ExportMetricsServiceRequest:
    request = ExportMetricsServiceRequest()
    resource = request.resource_metrics.add()
    resource.resource.attributes.add(key="service.name").value.string_value = "api"
    metrics = resource.scope_metrics.add().metrics
    counter = metrics.add(name="jobs_total")
    counter.sum.is_monotonic, counter.sum.aggregation_temporality = True, 2
    point = counter.sum.data_points.add(time_unix_nano=_now_ns(), as_int=7)
    point.attributes.add(key="queue").value.string_value = "mail"
    gauge = metrics.add(name="temperature")
    gauge.gauge.data_points.add(time_unix_nano=_now_ns(), as_double=21.5)
    histogram = metrics.add(name="latency_ms")
    histogram.histogram.aggregation_temporality = 2
    histogram.histogram.data_points.add(
        time_unix_nano=_now_ns(),
        count=4,
        sum=130,
        explicit_bounds=[10, 100],
        bucket_counts=[1, 2, 1],
    )
    summary = metrics.add(name="gc_seconds")
    summary_point = summary.summary.data_points.add(time_unix_nano=_now_ns(), count=3, sum=0.3)
    summary_point.quantile_values.add(quantile=0.5, value=0.1)
    exponential = metrics.add(name="size_bytes")
    exponential.exponential_histogram.aggregation_temporality = 2
    exp_point = exponential.exponential_histogram.data_points.add(
        time_unix_nano=_now_ns(), count=3, sum=12, scale=0, zero_count=0
    )
    exp_point.positive.offset, exp_point.positive.bucket_counts[:] = 1, [1, 2]
    bad = metrics.add(name="9bad")
    bad.gauge.data_points.add(time_unix_nano=_now_ns(), as_double=1)
    return request


def test_every_metric_kind_is_stored_and_a_bad_name_is_refused(ingest, reader):
    response = _post_protobuf(ingest, "/otlp/v1/metrics", _metrics_request())

    answer = ExportMetricsServiceResponse.FromString(response.content)
    series = {s["name"]: s["type"] for s in reader.get("/api/v1/metrics/series").json()["results"]}
    assert answer.partial_success.rejected_data_points == 1
    assert series == {
        "jobs_total": "counter",
        "temperature": "gauge",
        "latency_ms": "histogram",
        "gc_seconds": "summary",
        "size_bytes": "histogram",
    }


def test_a_gzip_protobuf_body_is_accepted(ingest, reader):
    body = gzip.compress(_metrics_request().SerializeToString())

    response = ingest.generic(
        "POST",
        "/otlp/v1/metrics",
        body,
        content_type="application/x-protobuf",
        HTTP_CONTENT_ENCODING="gzip",
    )

    assert response.status_code == 200


def test_logs_in_json_are_stored_with_their_ids(ingest, reader):
    body = {
        "resourceLogs": [
            {
                "resource": {
                    "attributes": [{"key": "service.name", "value": {"stringValue": "api"}}]
                },
                "scopeLogs": [
                    {
                        "logRecords": [
                            {
                                "timeUnixNano": str(_now_ns()),
                                "severityNumber": 17,
                                "severityText": "ERROR",
                                "body": {"stringValue": "disk full on /var"},
                                "traceId": TRACE_ID,
                                "spanId": SPAN_ID,
                                "attributes": [
                                    {"key": "password", "value": {"stringValue": "hunter2"}}
                                ],
                            }
                        ]
                    }
                ],
            }
        ]
    }

    response = ingest.post("/otlp/v1/logs", body, content_type="application/json")

    record = reader.get("/api/v1/logs").json()["results"][0]
    assert response.status_code == 200 and orjson.loads(response.content) == {}
    assert record["body"] == "disk full on /var" and record["trace_id"] == TRACE_ID
    assert record["attributes"] == {"password": "[scrubbed]"}


def test_protobuf_logs_answer_an_empty_response(ingest):
    request = ExportLogsServiceRequest()
    record = (
        request.resource_logs.add()
        .scope_logs.add()
        .log_records.add(time_unix_nano=_now_ns(), severity_number=9)
    )
    record.body.string_value = "hello"

    response = _post_protobuf(ingest, "/otlp/v1/logs", request)

    assert ExportLogsServiceResponse.FromString(response.content) == ExportLogsServiceResponse()


@pytest.mark.parametrize("path", ["/otlp/v1/traces", "/otlp/v1/metrics", "/otlp/v1/logs"])
def test_an_undecodable_body_is_a_400(ingest, path):
    response = ingest.generic(
        "POST", path, b"\xff\xff\xff garbage", content_type="application/x-protobuf"
    )

    assert response.status_code == 400 and response.json()["error"]["code"] == "bad_request"


def test_a_key_without_the_ingest_scope_is_a_403(make_key):
    response = key_client(make_key("read")).post(
        "/otlp/v1/traces", {}, content_type="application/json"
    )

    assert response.status_code == 403


def test_no_key_is_a_401(client):
    assert client.post("/otlp/v1/traces", {}, content_type="application/json").status_code == 401


def test_another_content_type_is_a_415(ingest):
    assert ingest.post("/otlp/v1/traces", "x", content_type="text/plain").status_code == 415


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    path=st.sampled_from(["/otlp/v1/traces", "/otlp/v1/metrics", "/otlp/v1/logs"]),
    body=st.binary(min_size=1, max_size=400),
)
def test_no_protobuf_body_makes_a_server_error(make_key, path, body):
    response = key_client(make_key("ingest")).generic(
        "POST", path, body, content_type="application/x-protobuf"
    )

    assert response.status_code in {200, 400}, (body, response.content)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    value=st.floats() | st.integers(-(2**63), 2**63 - 1),
    ts=st.integers(0, 2**64 - 1),
    name=st.text(max_size=30),
)
def test_odd_metric_points_are_refused_or_stored_never_a_server_error(make_key, value, ts, name):
    request = ExportMetricsServiceRequest()
    metric = request.resource_metrics.add().scope_metrics.add().metrics.add(name=name)
    point = metric.gauge.data_points.add(time_unix_nano=ts)
    if isinstance(value, float):
        point.as_double = value
    else:
        point.as_int = value

    response = _post_protobuf(key_client(make_key("ingest")), "/otlp/v1/metrics", request)

    assert response.status_code == 200
