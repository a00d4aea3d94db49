"""Crash tolerance: kill -9 a web process twenty times while clients keep sending.

Two gunicorns serve the clients. In turn, the worker process of one is killed with SIGKILL in
the middle of requests and its master forks a new one that takes over; every tenth time the
whole gunicorn (master and worker, as an OOM kill would) dies and a new one is started on its
port. Every batch answered 2xx is stored whole, and every batch is stored whole or not at all.
"""

import http.client
import itertools
import threading
import time
from collections import Counter

import orjson
import pytest

from tests.ops.conftest import HTTP_TIMEOUT_S, logged_exceptions, stored_points, web_wait
from tests.support.processes import wait_for

pytestmark = [pytest.mark.ops, pytest.mark.django_db(transaction=True)]

KILLS = 20
WHOLE_GUNICORN_EVERY = 10  # the other kills take the worker process (fast to replace)
SENDERS = 4
POINTS = 50


def _rfc3339(ts_ms: int) -> str:
    # A string, not float seconds: the millisecond sent is exactly the millisecond stored.
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts_ms // 1000)) + f".{ts_ms % 1000:03d}Z"


def _points(batch: int, base_ms: int) -> list[dict]:
    return [
        {
            "name": "crash",
            "type": "gauge",
            "value": float(i),
            "labels": {"batch": str(batch)},
            "timestamp": _rfc3339(base_ms + batch * POINTS + i),
        }
        for i in range(POINTS)
    ]


class Senders:
    """Client threads sending numbered batches to the web processes in turn, never resending."""

    def __init__(self, ports: list[int], key: str) -> None:
        self.base_ms = (int(time.time()) - 6 * 3600) * 1000
        self.headers = {"Content-Type": "application/json", "X-API-Key": key}
        self.numbers = itertools.count()
        self.acknowledged: list[int] = []
        self.acknowledged_by: Counter = Counter()  # port -> batches
        self.server_errors: list = []
        self.cut_off = 0  # requests whose connection died (killed mid-request, or refused)
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._send, args=(ports,)) for _ in range(SENDERS)]

    def _send(self, ports: list[int]) -> None:
        for port in itertools.cycle(ports):
            if self.stop.is_set():
                return
            batch = next(self.numbers)
            body = orjson.dumps({"service": "crash", "points": _points(batch, self.base_ms)})
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=HTTP_TIMEOUT_S)
                connection.request("POST", "/api/v1/ingest/metrics", body, self.headers)
                response = connection.getresponse()
                answer = response.read()
            except (OSError, http.client.HTTPException):
                self.cut_off += 1
                time.sleep(0.05)  # killed mid-request or not listening yet
                continue
            if 200 <= response.status < 300:
                self.acknowledged.append(batch)
                self.acknowledged_by[port] += 1
            elif response.status >= 500 and response.status != 503:  # 503: busy, by design
                self.server_errors.append((batch, response.status, answer[:200]))


def test_every_batch_answered_2xx_survives_twenty_kill_9_of_web_processes(start_web, make_key):
    webs = [start_web(f"web-0-{x}", wait=False, preload=True) for x in "ab"]
    for web in webs:
        web_wait(web)
    senders = Senders([w.port for w in webs], make_key("ingest"))
    for thread in senders.threads:
        thread.start()

    for kill in range(KILLS):
        victim = webs[kill % 2]
        served = senders.acknowledged_by[victim.port]
        wait_for(
            lambda port=victim.port, n=served: senders.acknowledged_by[port] >= n + 1,
            what=f"a batch acknowledged by {victim.process.name} (it took over)",
            processes=[w.process for w in webs],
        )
        if kill % WHOLE_GUNICORN_EVERY == WHOLE_GUNICORN_EVERY - 1:
            victim.kill_9()
            name = f"web-{kill + 1}-{'ab'[kill % 2]}"
            webs[kill % 2] = start_web(name, port=victim.port, preload=True)
        else:
            assert victim.kill_9_workers() == 1
    senders.stop.set()
    for thread in senders.threads:
        thread.join(timeout=30)

    points = stored_points("crash")
    stored = Counter(int(labels["batch"]) for labels, _, _ in points)
    lost = {b: stored[b] for b in senders.acknowledged if stored[b] != POINTS}
    assert len(senders.acknowledged) >= KILLS and senders.cut_off > 0  # the kills hit requests
    assert lost == {}
    assert set(stored.values()) == {POINTS}  # no batch half stored, acknowledged or not
    assert sorted((ts_ms, value) for _, ts_ms, value in points) == sorted(
        (senders.base_ms + b * POINTS + i, float(i)) for b in stored for i in range(POINTS)
    )
    assert senders.server_errors == [], logged_exceptions([w.process for w in webs])
