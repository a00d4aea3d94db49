"""The spool keeps refused requests in order, within its bound, across restarts; the session
spools what aivmon cannot take and the replayer delivers it in order."""

import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from aivmon_sdk import ObservabilitySystem, traced_operation
from aivmon_sdk.spool import Spool
from aivmon_sdk.transport import Replayer, SpoolingSession
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)

from tests.support.processes import free_port

bodies = st.lists(st.binary(min_size=1, max_size=64), max_size=40)


def _drain(spool: Spool) -> list[bytes]:
    taken = []
    while (request := spool.peek()) is not None:
        taken.append(request.body)
        spool.delete(request.id)
    return taken


def _put(spool: Spool, body: bytes) -> int:
    return spool.put(url="http://aivmon/otlp/v1/traces", body=body, content_type="x")


@settings(max_examples=25, deadline=None)
@given(bodies)
def test_it_gives_back_requests_in_the_order_they_were_spooled(items):
    with tempfile.TemporaryDirectory() as directory:
        spool = Spool(Path(directory) / "spool.sqlite3")
        for body in items:
            _put(spool, body)

        assert _drain(spool) == items
        assert (len(spool), spool.size_bytes) == (0, 0)


@settings(max_examples=40, deadline=None)
@given(bodies, st.integers(min_value=1, max_value=300))
def test_it_keeps_the_newest_that_fit_its_bound_and_counts_the_dropped(items, max_bytes):
    with tempfile.TemporaryDirectory() as directory:
        spool = Spool(Path(directory) / "spool.sqlite3", max_bytes=max_bytes)
        dropped = sum(_put(spool, body) for body in items)
        kept = _drain(spool)

        fits = [i for i in range(len(items) + 1) if sum(map(len, items[i:])) <= max_bytes]
        assert kept == items[min(fits) :]
        assert dropped == spool.dropped == len(items) - len(kept)


def test_it_keeps_its_requests_and_drop_count_across_restarts(tmp_path):
    spool = Spool(tmp_path / "spool.sqlite3", max_bytes=10)
    for body in (b"aaaa", b"bbbb", b"cccc", b"dddd"):
        _put(spool, body)
    spool.close()

    reopened = Spool(tmp_path / "spool.sqlite3", max_bytes=10)

    assert (len(reopened), reopened.size_bytes, reopened.dropped) == (2, 8, 2)
    assert _drain(reopened) == [b"cccc", b"dddd"]


class Receiver(BaseHTTPRequestHandler):
    """Answers the next status in `server.statuses` (200 once they run out); records bodies."""

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        status = self.server.statuses.pop(0) if self.server.statuses else 200
        if status == 200:
            self.server.received.append((body, self.headers["Authorization"]))
            self.server.paths.append(self.path)
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def receiver():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    server.statuses, server.received, server.paths = [], [], []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _session(spool: Spool) -> SpoolingSession:
    return SpoolingSession(
        spool, auth_headers={"Authorization": "Bearer k"}, timeout_s=2, on_spooled=lambda _: None
    )


def test_the_session_spools_refused_connections_5xx_and_429_but_not_4xx(tmp_path, receiver):
    spool = Spool(tmp_path / "spool.sqlite3")
    session = _session(spool)
    url = f"http://127.0.0.1:{receiver.server_port}/otlp/v1/traces"
    receiver.statuses = [400, 503, 429]

    answers = [session.post(url, data=b"rejected").status_code]
    answers.append(session.post(url, data=b"unavailable").status_code)
    _drain(spool)
    answers.append(session.post(url, data=b"throttled").status_code)
    _drain(spool)
    answers.append(session.post(f"http://127.0.0.1:{free_port()}/x", data=b"refused").status_code)

    assert answers == [400, 200, 200, 200]
    assert receiver.received == []


def test_the_replayer_delivers_in_order_through_errors_and_new_requests_queue_behind(
    tmp_path, receiver
):
    spool = Spool(tmp_path / "spool.sqlite3")
    session = _session(spool)
    url = f"http://127.0.0.1:{receiver.server_port}/otlp/v1/traces"
    receiver.statuses = [503, 503, 500, 502]  # the first export and the first replays fail
    session.post(url, data=b"1")
    for body in (b"2", b"3", b"4"):
        session.post(url, data=body)  # joins the spool's tail, behind "1"
    replayer = Replayer(
        spool, auth_headers={"Authorization": "Bearer k"}, min_backoff_s=0.05, max_backoff_s=0.1
    )

    replayer.start()
    deadline = time.monotonic() + 10
    while len(spool) and time.monotonic() < deadline:
        time.sleep(0.05)
    replayer.stop()

    assert receiver.received == [(b, "Bearer k") for b in (b"1", b"2", b"3", b"4")]
    assert replayer.delivered == 4


def test_a_session_answers_without_waiting_out_a_server_that_hangs(tmp_path):
    silent = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)  # accepts, never answers
    spool = Spool(tmp_path / "spool.sqlite3")
    session = SpoolingSession(spool, auth_headers={}, timeout_s=0.3, on_spooled=lambda _: None)

    answer = session.post(f"http://127.0.0.1:{silent.server_port}/x", data=b"slow", timeout=30)

    silent.server_close()
    assert (answer.status_code, len(spool)) == (200, 1)
    assert isinstance(answer, requests.Response)


FORKED = """
import os, sys
from aivmon_sdk import ObservabilitySystem
obs = ObservabilitySystem("forked", sys.argv[1], "k", spool_path=sys.argv[2], set_global=False,
                          replay_min_backoff_s=0.05, replay_max_backoff_s=0.1)
obs.replayer.stop()  # only the child's replayer may deliver
pid = os.fork()
if pid == 0:
    obs.spool.put(url=sys.argv[1] + "/otlp/v1/traces", body=b"from the child", content_type="x")
    os._exit(0 if obs.drain(timeout_s=10) else 3)
_, status = os.waitpid(pid, 0)
obs.shutdown()
sys.exit(os.waitstatus_to_exitcode(status))
"""


def test_a_forked_child_replays_with_a_spool_connection_and_threads_of_its_own(tmp_path, receiver):
    url = f"http://127.0.0.1:{receiver.server_port}"

    forked = subprocess.run(
        [sys.executable, "-c", FORKED, url, str(tmp_path / "spool.sqlite3")],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert forked.returncode == 0, forked.stderr
    assert (b"from the child", "Bearer k") in receiver.received


def _metric_total(bodies: list[bytes], name: str) -> int:
    """The last value of a counter in the ExportMetricsServiceRequests among `bodies`."""
    values = [
        point.as_int
        for body in bodies
        for resource in ExportMetricsServiceRequest.FromString(body).resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if metric.name == name
        for point in metric.sum.data_points
    ]
    return values[-1]


def test_a_full_spool_drops_its_oldest_and_reports_the_count_as_a_metric(tmp_path, receiver):
    receiver.statuses.extend([503] * 10_000)
    obs = ObservabilitySystem(
        "bounded",
        f"http://127.0.0.1:{receiver.server_port}",
        "k",
        spool_path=tmp_path / "spool.sqlite3",
        spool_max_bytes=4_000,
        replay_min_backoff_s=0.05,
        replay_max_backoff_s=0.1,
        set_global=False,
        install_exit_handlers=False,
    )
    for batch in range(10):
        for _ in range(20):
            with traced_operation(obs, "work", {"batch": batch}):
                pass
        obs.tracer_provider.force_flush()
    dropped = obs.spool.dropped

    receiver.statuses.clear()
    assert obs.drain(timeout_s=20)
    obs.shutdown()

    metrics = [
        b for (b, _), p in zip(receiver.received, receiver.paths, strict=True) if "metrics" in p
    ]
    assert dropped > 0
    assert _metric_total(metrics, "aivmon_sdk_spool_dropped_total") == dropped
