"""Malformed requests for tests/ops/test_malformed.py: seeded, drawn from families of faults."""

import gzip
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote

import orjson
from django.conf import settings
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

SEED = 20261128

NATIVE = {
    "/api/v1/ingest/metrics": "points",
    "/api/v1/ingest/spans": "spans",
    "/api/v1/ingest/logs": "logs",
    "/api/v1/ingest/security-events": "events",
    "/api/v1/ingest/test-runs": "cases",
}
OTLP = ("/otlp/v1/metrics", "/otlp/v1/traces", "/otlp/v1/logs")
INGEST = (*NATIVE, *OTLP)
READS = (
    "/api/v1/metrics/query",
    "/api/v1/metrics/series",
    "/api/v1/logs",
    "/api/v1/traces",
    "/api/v1/security/events",
    "/api/v1/alerts",
)


@dataclass
class Case:
    kind: str
    raw: bytes  # the whole request as sent on the wire
    half_close: bool = False  # shut the write side after sending (a body shorter than declared)


# --- bodies ---------------------------------------------------------------------------------


def _valid_native(path: str, now: float) -> dict:
    item = {
        "points": {
            "name": "fuzz",
            "type": "gauge",
            "value": 1.5,
            "timestamp": now,
            "labels": {"a": "b"},
        },
        "spans": {
            "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
            "span_id": "00f067aa0ba902b7",
            "name": "GET /",
            "kind": "server",
            "start_time": now,
            "end_time": now + 0.1,
            "status": "OK",
            "attributes": {"http.status_code": 200},
        },
        "logs": {"timestamp": now, "severity": "ERROR", "body": "failed", "attributes": {"o": 1}},
        "events": {
            "timestamp": now,
            "event_type": "auth_failure",
            "user_id": "alice",
            "source_ip": "203.0.113.7",
            "endpoint": "/login",
            "method": "POST",
            "params": {"username": "alice"},
            "details": {},
        },
        "cases": {"name": "test_a", "module": "m", "outcome": "passed", "duration": 0.1},
    }[NATIVE[path]]
    body = {"service": "fuzz", NATIVE[path]: [item]}
    return {**body, "suite": "fuzz", "run_id": "r1"} if NATIVE[path] == "cases" else body


def _valid_otlp(path: str, now: float) -> bytes:
    ns = int(now) * 1_000_000_000
    resource = Resource(attributes=[KeyValue(key="service.name", value=AnyValue(string_value="f"))])
    if path.endswith("metrics"):
        point = NumberDataPoint(time_unix_nano=ns, as_double=1.5)
        metric = Metric(name="fuzz", gauge=Gauge(data_points=[point]))
        scope = ScopeMetrics(metrics=[metric])
        message = ExportMetricsServiceRequest(
            resource_metrics=[ResourceMetrics(resource=resource, scope_metrics=[scope])]
        )
    elif path.endswith("traces"):
        span = Span(
            trace_id=bytes(range(1, 17)),
            span_id=bytes(range(1, 9)),
            name="s",
            start_time_unix_nano=ns,
            end_time_unix_nano=ns + 1000,
        )
        message = ExportTraceServiceRequest(
            resource_spans=[
                ResourceSpans(resource=resource, scope_spans=[ScopeSpans(spans=[span])])
            ]
        )
    else:
        record = LogRecord(time_unix_nano=ns, body=AnyValue(string_value="x"))
        message = ExportLogsServiceRequest(
            resource_logs=[
                ResourceLogs(resource=resource, scope_logs=[ScopeLogs(log_records=[record])])
            ]
        )
    return message.SerializeToString()


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _deep_logs_request(depth: int, now: float) -> bytes:
    """A log record whose body is an array in an array ... `depth` deep, encoded by hand
    (the protobuf library refuses to build messages past its own depth limit)."""
    value = _field(1, b"x")  # AnyValue.string_value
    for _ in range(depth):
        value = _field(5, _field(1, value))  # AnyValue.array_value.values[0]
    record = LogRecord(time_unix_nano=int(now) * 10**9).SerializeToString() + _field(5, value)
    return _field(1, _field(2, _field(2, record)))  # request.resource_logs.scope_logs.log_records


def _nested(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


JSON_POISON = [  # replace the value of one field of a valid item
    b"NaN",
    b"Infinity",
    b"-Infinity",
    b"1e999",
    b"-1e999",
    b"1" + b"0" * 400,
    b"-" + b"9" * 5000,
    b"9223372036854775808",
    b"-9223372036854775809",
    b"18446744073709551616",
    b"1e-400",
    b"0.0e0",
    b'"\\ud800"',
    b'"\\udfff\\ud800"',
    b'"a\\u0000b"',
    b'"\\u0000"',
    b'"' + b"x" * 300_000 + b'"',
    b"[" * 3000 + b"]" * 3000,
    _nested(3000),
    b"true",
    b"null",
    b"[]",
    b"{}",
    b'""',
    b'"2026-13-45T99:99:99Z"',
    b'"1764200000"',
    b'"-1"',
    b'{"$gt": 1}',
    b"[1, [2, [3]]]",
    b'"\xff\xfe"',
    b'"\xc0\xaf"',
    b'"\xed\xa0\x80"',
]
JSON_WHOLE = [  # replace the whole body
    b"",
    b" ",
    b"{",
    b"}",
    b"[",
    b'{"points": [1,2,}',
    b"{'points': []}",
    b'{"points": [],}',
    b'{"points": []} trailing',
    b"/* c */ {}",
    b"null",
    b"[]",
    b"123",
    b'"str"',
    b"\xef\xbb\xbf{}",
    b"\xff\xfe{\x00}\x00",
    b"\x00" * 64,
    b"[" * 100_000,
    b"[" * 50_000 + b"]" * 50_000,
    _nested(50_000),
    b'{"points": ' + b"[" * 20_000 + b"]" * 20_000 + b"}",
    b'{"points": {"name": "x"}}',
    b'{"points": "x"}',
    b'{"points": 5}',
    b'{"points": null}',
    b'{"points": [[]]}',
    b'{"points": [null]}',
    b'{"points": [1]}',
    b'{"service": 5, "points": []}',
    b'{"service": ["a"], "points": [{"name": "x", "value": 1}]}',
    b'{"a": 1, "a": 2}',
    b'{"points": [' + b'{"name": "x", "value": 1},' * 20_000 + b"{}]}",
    b'{"\xff": 1}',
    b'{"logs": [{"body": {"nested": [1, {"deep": ' + b"[" * 5000 + b"]" * 5000 + b"}]}}]}",
    b'{"spans": [{"attributes": ' + _nested(5000) + b"}]}",
]
CONTENT_TYPES = [
    None,
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data",
    "multipart/form-data; boundary=",
    "application/json; charset=utf-16",
    "application/xml",
    "application/x-protobuf",
    "application/json\x00",
    "application/" + "j" * 5000,
    "*/*",
    "application/json; charset=latin-1",
    "APPLICATION/JSON",
    "application/jsonx",
]
QUERY_POISON = [
    "NaN",
    "inf",
    "-inf",
    "1e400",
    "-1",
    "0",
    "1e-9",
    "99999999999999999999999",
    "yesterday",
    "%00",
    "%ZZ",
    "%C0%AF",
    "%ED%A0%80",
    "%FF",
    "x" * 5000,
    "1,2",
    "[]",
    "{}",
    "null",
    "-0",
    "2026-13-45T99:99:99Z",
    "1764200000",
    "\u00b3",
    "%0D%0ASet-Cookie:%20x=1",
    "../../etc/passwd",
]
QUERY_NAMES = [
    "name",
    "start",
    "end",
    "step",
    "agg",
    "limit",
    "cursor",
    "service",
    "label.host",
    "group_by",
    "q",
    "min_severity",
    "trace_id",
    "state",
    "severity",
    "min_duration_ms",
    "attr.k",
    "label.%00",
    "label.",
    "attr.",
    "event_type",
    "source_ip",
]


# --- requests -------------------------------------------------------------------------------


def _request(method: str, path: str, headers: dict, body: bytes | None, *, length=True) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if body is not None and length:
        lines.append(f"Content-Length: {len(body)}")
    head = "\r\n".join(lines).encode("latin-1", "replace") + b"\r\n\r\n"
    return head + (body or b"")


def _json_body_cases(rng: random.Random, keys: dict, now: float) -> Iterator[Case]:
    path = rng.choice(list(NATIVE))
    headers = {"Content-Type": "application/json", "X-API-Key": keys["ingest"]}
    valid = orjson.dumps(_valid_native(path, now))
    item_key = NATIVE[path]
    item = _valid_native(path, now)[item_key][0]
    field = rng.choice(list(item))
    marker = b'"@@POISON@@"'
    poisoned = orjson.dumps({**_valid_native(path, now), item_key: [{**item, field: "@@POISON@@"}]})
    yield Case(
        "json-field",
        _request("POST", path, headers, poisoned.replace(marker, rng.choice(JSON_POISON))),
    )
    yield Case("json-whole", _request("POST", path, headers, rng.choice(JSON_WHOLE)))
    cut = rng.randrange(len(valid))
    yield Case("json-truncated", _request("POST", path, headers, valid[:cut]))
    mutated = bytearray(valid)
    for _ in range(rng.randint(1, 8)):
        mutated[rng.randrange(len(mutated))] = rng.randrange(256)
    yield Case("json-mutated", _request("POST", path, headers, bytes(mutated)))
    content_type = rng.choice(CONTENT_TYPES)
    typed = {"X-API-Key": keys["ingest"]} | ({"Content-Type": content_type} if content_type else {})
    yield Case("content-type", _request("POST", path, typed, valid))


def _otlp_cases(rng: random.Random, keys: dict, now: float) -> Iterator[Case]:
    path = rng.choice(OTLP)
    headers = {"Content-Type": "application/x-protobuf", "X-API-Key": keys["ingest"]}
    valid = _valid_otlp(path, now)
    yield Case(
        "protobuf-truncated", _request("POST", path, headers, valid[: rng.randrange(len(valid))])
    )
    mutated = bytearray(valid)
    for _ in range(rng.randint(1, 6)):
        mutated[rng.randrange(len(mutated))] = rng.randrange(256)
    yield Case("protobuf-mutated", _request("POST", path, headers, bytes(mutated)))
    yield Case(
        "protobuf-random", _request("POST", path, headers, rng.randbytes(rng.randint(1, 4000)))
    )
    deep = _deep_logs_request(rng.choice([50, 99, 101, 150, 5000]), now)
    yield Case("protobuf-deep", _request("POST", "/otlp/v1/logs", headers, deep))
    as_json = {"Content-Type": "application/json", "X-API-Key": keys["ingest"]}
    yield Case(
        "otlp-json-bad", _request("POST", path, as_json, rng.choice(JSON_WHOLE + JSON_POISON))
    )
    yield Case(
        "otlp-json-ids",
        _request(
            "POST",
            "/otlp/v1/traces",
            as_json,
            orjson.dumps(
                {
                    "resourceSpans": [
                        {
                            "scopeSpans": [
                                {
                                    "spans": [
                                        {
                                            "traceId": rng.choice(
                                                [
                                                    "zz",
                                                    "",
                                                    "0" * 32,
                                                    "g" * 32,
                                                    "a" * 31,
                                                    "A" * 64,
                                                    5,
                                                ]
                                            ),
                                            "spanId": "x",
                                            "name": "s",
                                            "startTimeUnixNano": rng.choice(
                                                ["1", "-1", "9" * 30, "NaN", 1.5, None]
                                            ),
                                        }
                                    ]
                                }
                            ]
                        }
                    ]
                }
            ),
        ),
    )


def _encoding_cases(rng: random.Random, keys: dict, now: float) -> Iterator[Case]:
    path = rng.choice(INGEST)
    is_otlp = path.startswith("/otlp/")
    content_type = "application/x-protobuf" if is_otlp else "application/json"
    valid = _valid_otlp(path, now) if is_otlp else orjson.dumps(_valid_native(path, now))
    gz = {"Content-Type": content_type, "X-API-Key": keys["ingest"], "Content-Encoding": "gzip"}
    packed = gzip.compress(valid)
    bodies = [
        rng.randbytes(200),
        packed[: rng.randrange(1, len(packed))],
        packed + b"trailing",
        gzip.compress(packed),
        b"",
        packed[:10],
        b"\x1f\x8b" + rng.randbytes(30),
    ]
    yield Case("gzip-bad", _request("POST", path, gz, rng.choice(bodies)))
    other = rng.choice(
        ["deflate", "br", "compress", "gzip, gzip", "identity, gzip", "x" * 300, "GZIP"]
    )
    yield Case("encoding", _request("POST", path, {**gz, "Content-Encoding": other}, packed))


def _framing_cases(rng: random.Random, keys: dict, now: float) -> Iterator[Case]:
    path = rng.choice(INGEST)
    headers = {"Content-Type": "application/json", "X-API-Key": keys["ingest"]}
    body = orjson.dumps(_valid_native(path, now)) if path in NATIVE else b"{}"
    head = _request("POST", path, headers, None)[:-2]
    length = rng.choice(
        [
            "abc",
            "-1",
            "1e3",
            "+5",
            " 5",
            "0x10",
            "5.0",
            "99999999999999999999999",
            "\u00b3",
            "",
            str(len(body) + 7),
        ]
    )
    yield Case(
        "content-length-bad",
        head + f"Content-Length: {length}\r\n\r\n".encode() + body,
        half_close=True,
    )
    yield Case(
        "content-length-short", head + f"Content-Length: {len(body) // 2}\r\n\r\n".encode() + body
    )
    yield Case(
        "content-length-long",
        head + f"Content-Length: {len(body) + 100}\r\n\r\n".encode() + body,
        half_close=True,
    )
    yield Case(
        "content-length-twice",
        head + f"Content-Length: {len(body)}\r\nContent-Length: 3\r\n\r\n".encode() + body,
    )
    yield Case("content-length-missing", head + b"\r\n" + body)
    chunked = rng.choice(
        [
            b"5\r\nhello\r\n0\r\n\r\n",
            b"zz\r\nhello\r\n0\r\n\r\n",
            b"5\r\nhel",
            b"ffffffffffffffff\r\nx\r\n",
            b"-1\r\n\r\n",
            b"0\r\n\r\n",
        ]
    )
    yield Case("chunked", head + b"Transfer-Encoding: chunked\r\n\r\n" + chunked, half_close=True)
    yield Case(
        "chunked-and-length",
        head + b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n" + chunked,
        half_close=True,
    )
    over = settings.AIVMON_MAX_BODY_BYTES + rng.randint(1, 10**9)
    yield Case(
        "over-limit-declared",
        head + f"Content-Length: {over}\r\n\r\n".encode() + body[:100],
        half_close=True,
    )


def _auth_cases(rng: random.Random, keys: dict, now: float) -> Iterator[Case]:
    path = rng.choice(INGEST)
    body = orjson.dumps(_valid_native(path, now)) if path in NATIVE else _valid_otlp(path, now)
    content_type = "application/json" if path in NATIVE else "application/x-protobuf"
    credential = rng.choice(
        [
            {},
            {"X-API-Key": "nope"},
            {"X-API-Key": keys["read"]},
            {"Authorization": "Bearer"},
            {"Authorization": "Bearer " + "a" * 10_000},
            {"Authorization": "Basic Zm9vOmJhcg=="},
            {"X-API-Key": "avm_\xff\xfe_x"},
            {"Authorization": "Bearer avm_12345678_" + "z" * 64},
            {"X-API-Key": keys["ingest"][:-1]},
            {"X-API-Key": keys["ingest"] + "\x00"},
        ]
    )
    yield Case("auth", _request("POST", path, {"Content-Type": content_type, **credential}, body))


def _read_cases(rng: random.Random, keys: dict, now: float) -> Iterator[Case]:
    path = rng.choice(READS)
    params = "&".join(
        f"{rng.choice(QUERY_NAMES)}={rng.choice(QUERY_POISON)}" for _ in range(rng.randint(1, 4))
    )
    named = f"name=fuzz&{params}" if path.endswith("query") and rng.random() < 0.7 else params
    headers = {"X-API-Key": rng.choice([keys["read"], keys["read"], keys["ingest"], "bad"])}
    yield Case("read-query", _request("GET", f"{path}?{named}", headers, None))
    trace = rng.choice(["zz", "0" * 32, "a" * 33, "%00", quote("\u00e9" * 40), "x" * 3000])
    yield Case("read-trace", _request("GET", f"/api/v1/traces/{trace}", headers, None))
    yield Case(
        "read-with-body",
        _request(
            "GET",
            path,
            {**headers, "Content-Type": "application/json"},
            rng.choice(JSON_WHOLE[:20]),
        ),
    )
    yield Case(
        "read-method",
        _request(
            rng.choice(["POST", "PUT", "DELETE", "PATCH"]),
            path,
            {**headers, "Content-Type": "application/json"},
            b"{}",
        ),
    )


FAMILIES = [
    _json_body_cases,
    _otlp_cases,
    _encoding_cases,
    _framing_cases,
    _auth_cases,
    _read_cases,
]


def malformed_cases(keys: dict, count: int) -> list[Case]:
    """`count` seeded cases drawn from every family in turn, plus a few big bodies."""
    rng = random.Random(SEED)
    now = time.time()
    limit = settings.AIVMON_MAX_BODY_BYTES
    headers = {"Content-Type": "application/json", "X-API-Key": keys["ingest"]}
    big = [
        Case(
            "over-limit-sent",
            _request("POST", "/api/v1/ingest/metrics", headers, b" " * (limit + 1)),
        ),
        Case(
            "gzip-bomb",
            _request(
                "POST",
                "/api/v1/ingest/logs",
                {**headers, "Content-Encoding": "gzip"},
                gzip.compress(b"[" * (limit * 2), 9),
            ),
        ),
        Case(
            "gzip-bomb-otlp",
            _request(
                "POST",
                "/otlp/v1/metrics",
                {
                    "Content-Type": "application/x-protobuf",
                    "X-API-Key": keys["ingest"],
                    "Content-Encoding": "gzip",
                },
                gzip.compress(b"\x00" * (limit * 3), 9),
            ),
        ),
    ]
    cases = list(big)
    families = iter(lambda: rng.choice(FAMILIES), None)
    while len(cases) < count:
        cases.extend(next(families)(rng, keys, now))
    return cases[:count]
