"""Chunked request bodies (no Content-Length) behind a real gunicorn, which de-chunks them and
marks its input as ending with the body (wsgi.input_terminated): read, limited and stored."""

import gzip
import http.client
import socket
import sys
import time
from collections.abc import Iterator

import orjson
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from apps.accounts import services
from apps.logs.models import LogRecord
from apps.traces.models import Span
from tests.support.processes import answers_healthz, free_port, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

LIMIT_BYTES = 64 * 1024
TIMEOUT_S = 15


@pytest.fixture
def gunicorn_port(start_process, monkeypatch) -> int:
    port = free_port()
    monkeypatch.setenv("AIVMON_MAX_BODY_BYTES", str(LIMIT_BYTES))
    argv = [sys.executable, "-m", "gunicorn", "aivmon.wsgi", "-c", "gunicorn.conf.py"]
    argv += ["--bind", f"127.0.0.1:{port}", "--workers", "1"]
    process = start_process("gunicorn", argv)
    wait_for(lambda: answers_healthz(port), what="gunicorn to answer", processes=[process])
    return port


@pytest.fixture
def ingest_headers() -> dict[str, str]:
    _, raw = services.api_key_create(name="ingest", scopes=["ingest"])
    return {"Authorization": f"Bearer {raw}"}


def _chunks(body: bytes, size: int = 1000) -> Iterator[bytes]:
    return (body[i : i + size] for i in range(0, len(body), size))


def _post_chunked(port: int, path: str, body: bytes, headers: dict) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT_S)
    connection.request("POST", path, body=_chunks(body), headers=headers, encode_chunked=True)
    response = connection.getresponse()
    return response.status, response.read()


def _logs(count: int) -> bytes:
    logs = [{"timestamp": time.time(), "body": f"line {n}"} for n in range(count)]
    return orjson.dumps({"service": "api", "logs": logs})


def test_a_chunked_native_batch_is_read_whole_and_stored(gunicorn_port, ingest_headers):
    headers = {**ingest_headers, "Content-Type": "application/json"}

    status, body = _post_chunked(gunicorn_port, "/api/v1/ingest/logs", _logs(200), headers)

    assert (status, orjson.loads(body)) == (200, {"accepted": 200, "rejected": 0, "errors": []})
    assert LogRecord.objects.count() == 200


def test_a_chunked_gzip_otlp_export_is_inflated_and_stored(gunicorn_port, ingest_headers):
    request = ExportTraceServiceRequest()
    span = request.resource_spans.add().scope_spans.add().spans.add(name="GET /")
    span.trace_id, span.span_id = bytes(range(1, 17)), bytes(range(1, 9))
    span.start_time_unix_nano = time.time_ns() - 1_000_000
    span.end_time_unix_nano = time.time_ns()
    headers = {
        **ingest_headers,
        "Content-Type": "application/x-protobuf",
        "Content-Encoding": "gzip",
    }
    body = gzip.compress(request.SerializeToString())

    status, _ = _post_chunked(gunicorn_port, "/otlp/v1/traces", body, headers)

    assert status == 200
    assert Span.objects.get().trace_id == bytes(range(1, 17)).hex()


def test_a_chunked_body_over_the_limit_is_a_413_and_stores_nothing(gunicorn_port, ingest_headers):
    headers = {**ingest_headers, "Content-Type": "application/json"}
    body = _logs(2000)

    status, answer = _post_chunked(gunicorn_port, "/api/v1/ingest/logs", body, headers)

    assert len(body) > LIMIT_BYTES
    assert status == 413 and orjson.loads(answer)["error"]["code"] == "payload_too_large"
    assert not LogRecord.objects.exists()


def test_a_malformed_chunk_is_a_400_in_the_envelope(gunicorn_port, ingest_headers):
    head = (
        "POST /api/v1/ingest/logs HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: {ingest_headers['Authorization']}\r\n"
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", gunicorn_port), timeout=TIMEOUT_S) as sock:
        sock.sendall(head.encode() + b"zz\r\nhello\r\n0\r\n\r\n")
        response = http.client.HTTPResponse(sock)
        response.begin()
        status, answer = response.status, response.read()

    assert status == 400 and set(orjson.loads(answer)["error"]) == {"code", "message", "details"}
