"""Edges of the ingest contract: 405s in the error envelope, OTLP/JSON bodies that are not
objects or carry malformed ids, RFC 3339 times with a lower-case "t" and "z"."""

import base64
import time
from datetime import UTC, datetime

import orjson
import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)

from apps.logs.models import LogRecord

pytestmark = pytest.mark.django_db

INGEST_PATHS = [
    "/api/v1/ingest/metrics",
    "/api/v1/ingest/spans",
    "/api/v1/ingest/logs",
    "/api/v1/ingest/security-events",
    "/api/v1/ingest/test-runs",
    "/otlp/v1/metrics",
    "/otlp/v1/traces",
    "/otlp/v1/logs",
]
TRACE_ID = "5b8efff798038103d269b633813fc60c"
SPAN_ID = "eee19b7ec3c1b174"


@pytest.mark.parametrize("path", INGEST_PATHS)
@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
def test_a_method_other_than_post_is_a_405_in_the_envelope_with_allow(ingest, path, method):
    response = ingest.generic(method, path)

    assert response.status_code == 405
    assert response["Content-Type"] == "application/json"
    assert response["Allow"] == "POST"
    assert response.json()["error"]["code"] == "method_not_allowed"


@pytest.mark.parametrize("path", ["/otlp/v1/traces", "/otlp/v1/logs", "/otlp/v1/metrics"])
@pytest.mark.parametrize("body", [b'"str"', b"[]", b"1", b"null"])
def test_an_otlp_json_body_that_is_not_an_object_is_a_400(ingest, path, body):
    response = ingest.generic("POST", path, body, content_type="application/json")

    assert response.status_code == 400
    assert set(response.json()["error"]) == {"code", "message", "details"}


def _json_log(**ids: str) -> dict:
    record = {"timeUnixNano": str(time.time_ns()), "body": {"stringValue": "x"}, **ids}
    return {"resourceLogs": [{"scopeLogs": [{"logRecords": [record]}]}]}


@pytest.mark.parametrize(
    "ids",
    [{"traceId": "zz"}, {"traceId": "AQ=="}, {"spanId": "zz"}, {"spanId": "AQ=="}],
    ids=["trace-not-hex", "trace-base64", "span-not-hex", "span-base64"],
)
def test_an_otlp_json_log_with_a_malformed_id_is_rejected_as_in_protobuf(ingest, ids):
    response = ingest.post("/otlp/v1/logs", _json_log(**ids), content_type="application/json")

    partial = orjson.loads(response.content)["partialSuccess"]
    assert response.status_code == 200
    assert partial["rejectedLogRecords"] == "1"
    assert not LogRecord.objects.exists()


def test_a_protobuf_log_with_a_one_byte_trace_id_is_rejected_like_its_json_form(ingest):
    request = ExportLogsServiceRequest()
    record = request.resource_logs.add().scope_logs.add().log_records.add()
    record.time_unix_nano, record.trace_id = time.time_ns(), base64.b64decode("AQ==")

    response = ingest.generic(
        "POST", "/otlp/v1/logs", request.SerializeToString(), content_type="application/x-protobuf"
    )

    answer = ExportLogsServiceResponse.FromString(response.content)
    assert answer.partial_success.rejected_log_records == 1


def test_an_otlp_json_log_with_good_or_empty_ids_is_stored(ingest):
    both = _json_log(traceId=TRACE_ID, spanId=SPAN_ID)
    empty = _json_log(traceId="", spanId="")

    first = ingest.post("/otlp/v1/logs", both, content_type="application/json")
    second = ingest.post("/otlp/v1/logs", empty, content_type="application/json")

    assert orjson.loads(first.content) == orjson.loads(second.content) == {}
    assert sorted(LogRecord.objects.values_list("trace_id", flat=True)) == ["", TRACE_ID]


def _lower_case_rfc3339(seconds_ago: float) -> str:
    moment = datetime.fromtimestamp(time.time() - seconds_ago, UTC).replace(microsecond=0)
    return moment.strftime("%Y-%m-%dt%H:%M:%Sz")


def test_a_native_timestamp_with_a_lower_case_t_and_z_is_accepted(ingest):
    stamp = _lower_case_rfc3339(60)
    body = {"service": "api", "logs": [{"timestamp": stamp, "body": "hello"}]}

    response = ingest.post("/api/v1/ingest/logs", body, content_type="application/json")

    expected = datetime.fromisoformat(stamp.upper()).timestamp() * 1_000_000_000
    assert response.json() == {"accepted": 1, "rejected": 0, "errors": []}
    assert LogRecord.objects.get().ts_ns == expected


def test_reading_logs_takes_start_and_end_with_a_lower_case_t_and_z(ingest, reader):
    body = {"service": "api", "logs": [{"timestamp": time.time() - 60, "body": "hello"}]}
    ingest.post("/api/v1/ingest/logs", body, content_type="application/json")

    found = reader.get(
        "/api/v1/logs", {"start": _lower_case_rfc3339(600), "end": _lower_case_rfc3339(-600)}
    )
    after = reader.get("/api/v1/logs", {"start": _lower_case_rfc3339(-60)})

    assert found.status_code == after.status_code == 200
    assert [log["body"] for log in found.json()["results"]] == ["hello"]
    assert after.json()["results"] == []
