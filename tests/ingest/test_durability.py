"""Nothing acknowledged is lost: kill -9 the server in the middle of a stream of batches."""

import http.client
import sys
import threading
import time

import orjson
import psutil
import pytest

from tests.conftest import key_client
from tests.support.processes import answers_healthz, free_port, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

POINTS_PER_BATCH = 200
SENDERS = 4


def _send(port: int, key: str, batch: int) -> int:
    # Whole milliseconds: a point is stored once per (series, ms), and `time.time() - i * 0.001`
    # lands two points on one millisecond for about one batch in 4,000 (float error at a
    # millisecond's edge), which stores fewer than POINTS_PER_BATCH with nothing lost.
    now_ms = time.time_ns() // 1_000_000
    points = [
        {
            "name": "durable",
            "type": "gauge",
            "value": i,
            "timestamp": (now_ms - i) / 1000,
            "labels": {"batch": str(batch)},
        }
        for i in range(POINTS_PER_BATCH)
    ]
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request(
        "POST",
        "/api/v1/ingest/metrics",
        orjson.dumps({"points": points}),
        {"Content-Type": "application/json", "X-API-Key": key},
    )
    return connection.getresponse().status


def _stream(port: int, key: str, first: int, acknowledged: list[int], stop: threading.Event):
    batch = first
    while not stop.is_set():
        try:
            status = _send(port, key, batch)
        except (OSError, http.client.HTTPException):
            return
        if status == 200:
            acknowledged.append(batch)
        batch += SENDERS


def _kill_tree(pid: int) -> None:
    parent = psutil.Process(pid)
    for process in [*parent.children(recursive=True), parent]:
        process.kill()


def test_every_batch_answered_2xx_is_stored_after_kill_9(start_process, make_key, monkeypatch):
    port = free_port()
    monkeypatch.setenv("AIVMON_PORT", str(port))
    server = start_process(
        "gunicorn", [sys.executable, "-m", "gunicorn", "aivmon.wsgi", "-c", "gunicorn.conf.py"]
    )
    wait_for(lambda: answers_healthz(port), what="gunicorn to answer", processes=[server])
    key = make_key("ingest")
    acknowledged: list[int] = []
    stop = threading.Event()
    senders = [
        threading.Thread(target=_stream, args=(port, key, i, acknowledged, stop))
        for i in range(SENDERS)
    ]
    for sender in senders:
        sender.start()
    wait_for(lambda: len(acknowledged) >= 20, what="20 acknowledged batches", processes=[server])

    _kill_tree(server.process.pid)
    stop.set()
    for sender in senders:
        sender.join(timeout=15)

    counts = (
        key_client(make_key("read"))
        .get(
            "/api/v1/metrics/query?name=durable&agg=count&group_by=batch&step=86400"
            f"&start={time.time() - 3600}&end={time.time() + 60}"
        )
        .json()
    )
    stored = {s["labels"]["batch"]: sum(v for _, v in s["points"]) for s in counts["series"]}
    assert all(stored.get(str(batch)) == POINTS_PER_BATCH for batch in acknowledged), {
        str(b): stored.get(str(b)) for b in acknowledged if stored.get(str(b)) != POINTS_PER_BATCH
    }
    assert len(acknowledged) >= 20
