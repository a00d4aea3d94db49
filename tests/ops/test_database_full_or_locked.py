"""A database that is full or locked: 503 with Retry-After, never a 500, no partial batch.

A full disk under SQLite: ingest answers 503 with Retry-After, stores nothing of the refused
batch, and takes the same batch once space returns, without a restart.

The database is copied onto a small tmpfs of its own, a gunicorn serves it, and a filler file
takes the last free byte, so that SQLite's next write fails for real with SQLITE_FULL
("database or disk is full"). `PRAGMA max_page_count` would be simpler but is a setting of one
connection, not of the file: set from the test, it never reaches the server's connections.
A locked database (tests/ingest/test_backpressure.py for ingest) gives the rest of the API and
the sign-in page the same 503.
"""

import contextlib
import errno
import http.client
import sqlite3
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from django.db import OperationalError, connection
from django.test import Client

from apps.logs.models import LogRecord
from apps.security.models import SecurityEvent
from apps.testruns.models import Run
from apps.traces.models import Span
from tests.conftest import key_client
from tests.ops.conftest import HTTP_TIMEOUT_S, stored_points
from tests.ops.payloads import otlp_logs, otlp_metrics, otlp_traces
from tests.support.locks import write_lock_held

pytestmark = [pytest.mark.ops, pytest.mark.django_db(transaction=True)]

DISK_BYTES = 16 * 1024 * 1024
POINTS = 200
JSON = "application/json"
PROTOBUF = "application/x-protobuf"


class SmallDisk:
    """A tmpfs holding the database, and a filler file that takes its free space."""

    def __init__(self, mount: Path) -> None:
        self.mount = mount
        self.filler = mount / "filler"

    def fill(self) -> None:
        """Write the filler until the file system refuses another byte."""
        with self.filler.open("ab", buffering=0) as out:
            for chunk in (1024 * 1024, 4096, 1):
                with contextlib.suppress(OSError):
                    while True:
                        out.write(b"\0" * chunk)
        probe = self.mount / "probe"
        with pytest.raises(OSError) as refused, probe.open("wb", buffering=0) as out:
            out.write(b"\0" * 4096)
        assert refused.value.errno == errno.ENOSPC

    def free(self) -> None:
        self.filler.unlink()
        (self.mount / "probe").unlink(missing_ok=True)


@pytest.fixture
def small_disk(transactional_db, tmp_path) -> Iterator[SmallDisk]:
    """The test database, copied onto a 16 MiB tmpfs; this process and the servers it starts
    use the copy until the test ends."""
    if connection.vendor != "sqlite":
        pytest.skip(
            "PostgreSQL: a full disk needs the cluster's data directory on a small file system "
            "of its own, which a test cannot set up cheaply; the SQLite case covers the mapping"
        )
    mount = tmp_path / "disk"
    mount.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={DISK_BYTES}", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {mounted.stderr.strip()}")
    original = connection.settings_dict["NAME"]
    copy = mount / "aivmon.sqlite3"
    connection.ensure_connection()
    with sqlite3.connect(copy) as target:
        connection.connection.backup(target)
    connection.close()
    connection.settings_dict["NAME"] = str(copy)
    try:
        yield SmallDisk(mount)
    finally:
        connection.close()
        connection.settings_dict["NAME"] = original
        subprocess.run(["umount", "-l", str(mount)], check=False)


def batches(tag: str) -> dict[str, tuple[bytes, str]]:
    """A batch of every kind of telemetry, told apart by `tag`: path → (body, content type)."""
    now = time.time()
    now_ns = int(now) * 1_000_000_000
    trace_id = uuid.uuid4().hex
    points = [
        {
            "name": "full_disk",
            "type": "gauge",
            "value": float(i),
            "timestamp": now - i,
            "labels": {"round": tag, "series": str(i % 20)},
        }
        for i in range(POINTS)
    ]
    span = {
        "trace_id": trace_id,
        "span_id": trace_id[:16],
        "name": f"native {tag}",
        "start_time": now,
        "end_time": now + 0.1,
        "status": "OK",
    }
    event = {"event_type": "request", "user_id": tag, "source_ip": "198.51.100.4"}
    case = {"name": "test_a", "module": "m", "outcome": "passed", "duration": 0.1}
    return {
        "/api/v1/ingest/metrics": (orjson.dumps({"service": "disk", "points": points}), JSON),
        "/api/v1/ingest/spans": (orjson.dumps({"service": "disk", "spans": [span]}), JSON),
        "/api/v1/ingest/logs": (
            orjson.dumps({"service": "disk", "logs": [{"body": f"native {tag}"}] * 50}),
            JSON,
        ),
        "/api/v1/ingest/security-events": (
            orjson.dumps({"service": "disk", "events": [event] * 20}),
            JSON,
        ),
        "/api/v1/ingest/test-runs": (
            orjson.dumps({"suite": "disk", "run_id": tag, "cases": [case]}),
            JSON,
        ),
        "/otlp/v1/metrics": (otlp_metrics(tag, now_ns), PROTOBUF),
        "/otlp/v1/traces": (otlp_traces(tag, trace_id[::-1], now_ns), PROTOBUF),
        "/otlp/v1/logs": (otlp_logs(tag, now_ns), PROTOBUF),
    }


def stored(tag: str) -> dict[str, int]:
    """How many items of each kind of the batches `tag` are stored."""
    otlp_metrics = [p for p in stored_points("outage_otlp") if p[0].get("round") == tag]
    return {
        "metrics": len([p for p in stored_points("full_disk") if p[0].get("round") == tag]),
        "spans": Span.objects.filter(name=f"native {tag}").count(),
        "logs": LogRecord.objects.filter(body=f"native {tag}").count(),
        "security events": SecurityEvent.objects.filter(user_id=tag).count(),
        "test runs": Run.objects.filter(suite="disk", run_id=tag).count(),
        "otlp metrics": len(otlp_metrics),
        "otlp spans": Span.objects.filter(name=f"otlp {tag}").count(),
        "otlp logs": LogRecord.objects.filter(body=f"otlp {tag}").count(),
    }


WHOLE = {
    "metrics": POINTS,
    "spans": 1,
    "logs": 50,
    "security events": 20,
    "test runs": 1,
    "otlp metrics": 1,
    "otlp spans": 1,
    "otlp logs": 1,
}


class Api:
    """Requests to one web process on a kept-alive connection."""

    def __init__(self, port: int) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=HTTP_TIMEOUT_S)

    def __call__(self, method: str, path: str, key: str, body=b"", content_type=JSON) -> tuple:
        """Return the status, the Retry-After header and the body."""
        headers = {"X-API-Key": key, "Content-Type": content_type}
        self.connection.request(method, path, body or None, headers)
        response = self.connection.getresponse()
        return response.status, response.getheader("Retry-After"), response.read()

    def ingest(self, key: str, tag: str) -> dict[str, tuple]:
        return {
            path: self("POST", path, key, body, content_type)
            for path, (body, content_type) in batches(tag).items()
        }


def test_a_full_disk_gives_503_with_retry_after_and_stores_no_partial_batch(
    small_disk, start_web, make_key
):
    keys = {scope: make_key(scope) for scope in ("ingest", "read", "write")}
    api = Api(start_web("web").port)
    warm = api.ingest(keys["ingest"], "warm")
    with connection.cursor() as cursor:  # the next write needs new space in the WAL file
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    small_disk.fill()
    refused = api.ingest(keys["ingest"], "full")
    read = api("GET", "/api/v1/logs?service=disk", keys["read"])
    silence = {"matchers": [{"label": "host", "op": "=", "value": "a"}], "ends_at": 4e9}
    write = api("POST", "/api/v1/silences", keys["write"], orjson.dumps(silence))
    sign_in = Client(raise_request_exception=False).post(
        "/accounts/login/", {"username": "vera", "password": "wrong"}
    )
    nothing = stored("full")
    with pytest.raises(OperationalError) as full:  # what the server's connections met
        LogRecord.objects.bulk_create(
            LogRecord(service="probe", body="x" * 1024, ts_ns=0, severity_number=9)
            for _ in range(500)
        )
    small_disk.free()
    again = api.ingest(keys["ingest"], "full")

    assert {status for status, _, _ in warm.values()} <= {200, 201}, warm
    assert str(full.value) == "database or disk is full"
    assert {path: answer[:2] for path, answer in refused.items()} == dict.fromkeys(
        refused, (503, "1")
    )
    assert [orjson.loads(body)["error"]["code"] for _, _, body in refused.values()] == [
        "unavailable"
    ] * len(refused)
    assert nothing == dict.fromkeys(WHOLE, 0)
    assert (read[0], len(orjson.loads(read[2])["results"])) == (200, 50)  # reads need no space
    assert (write[:2], orjson.loads(write[2])["error"]["code"]) == ((503, "1"), "unavailable")
    assert (sign_in.status_code, sign_in["Retry-After"]) == (503, "1")
    assert {status for status, _, _ in again.values()} <= {200, 201}, again
    assert stored("full") == WHOLE


def test_a_locked_database_gives_api_writes_and_sign_in_503_with_retry_after(make_key):
    silence = {"matchers": [{"label": "host", "op": "=", "value": "a"}], "ends_at": 4e9}
    browser = Client(raise_request_exception=False)
    api = key_client(make_key("write"))
    api.raise_request_exception = False

    with write_lock_held("alerts_silence"):
        write = api.post("/api/v1/silences", silence, content_type=JSON)
    with write_lock_held("accounts_loginattempt"):
        sign_in = browser.post("/accounts/login/", {"username": "vera", "password": "wrong"})

    assert (write.status_code, write["Retry-After"]) == (503, "1")
    assert write.json()["error"]["code"] == "unavailable"
    assert (sign_in.status_code, sign_in["Retry-After"]) == (503, "1")
