"""Scale-out, proven: two web processes and two Celery workers on one database and one Redis.

Several clients ingest at once through both web processes; every point is stored exactly once,
the breaching rule raises exactly one alert per series, and each periodic job sent by the one
beat runs exactly once, while a burst of the same job on both workers rolls the backlog up once.
"""

import ast
import http.client
import itertools
import re
import threading
import time
from collections import Counter

import orjson
import pytest
from django_celery_beat.models import IntervalSchedule, PeriodicTask, PeriodicTasks

from apps.alerts.models import Alert
from apps.metrics.constants import HOUR_MS, ROLLUP_GRACE_MS
from apps.metrics.models import Rollup
from apps.metrics.tasks import rollup
from tests.ops.conftest import (
    HTTP_TIMEOUT_S,
    logged_exceptions,
    post,
    stored_points,
    task_results,
    task_runs,
    web_wait,
)
from tests.support.processes import wait_for

pytestmark = [pytest.mark.ops, pytest.mark.celery, pytest.mark.django_db(transaction=True)]

CLIENTS = 6
BATCHES = 8
POINTS = 60  # per metric per batch: 60 "now" points and 60 history points
THRESHOLD = 50
HISTORY_STEP_MS = 30_000
PERIODIC = ("aivmon.core.heartbeat", "aivmon.metrics.rollup", "aivmon.alerts.tick")


def _batch(client: int, batch: int, now_ms: int, history_ms: int) -> tuple[list, set]:
    """One batch of a client: live points that breach the rule, and points in past hours."""
    points, expected = [], set()
    for i in range(POINTS):
        n = batch * POINTS + i
        # Steps of 1/2 s: seconds * 1e9 is exact in a double, so the ms stored are the ms sent
        # (see test_points_a_millisecond_apart_are_both_stored for other timestamps).
        live = (now_ms - (n * CLIENTS + client) * 500, float(THRESHOLD + 1 + n % 40))
        past = (history_ms + n * HISTORY_STEP_MS + client * 500, float(n))
        for name, (ts_ms, value) in (("ops_load", live), ("ops_history", past)):
            points.append(
                {
                    "name": name,
                    "type": "gauge",
                    "value": value,
                    "timestamp": ts_ms / 1000,
                    "labels": {"client": str(client)},
                }
            )
            expected.add((name, str(client), ts_ms, value))
    return points, expected


def _client(client: int, ports: list[int], key: str, clock: tuple, sent: set, errors: list):
    """Send every batch, alternating the web processes; resend a batch answered 429 or 503 (busy)
    and, to go on checking the data, after any other 5xx, which is recorded as an error."""
    connections = {
        p: http.client.HTTPConnection("127.0.0.1", p, timeout=HTTP_TIMEOUT_S) for p in ports
    }
    headers = {"Content-Type": "application/json", "X-API-Key": key}
    turns = itertools.cycle(ports)
    for batch in range(BATCHES):
        points, expected = _batch(client, batch, *clock)
        body = orjson.dumps({"service": "ops", "points": points})
        for _attempt in range(20):
            port = next(turns)
            try:
                status, answer = post(connections[port], "/api/v1/ingest/metrics", body, headers)
            except (OSError, http.client.HTTPException):  # an idle keep-alive closed: resend
                connections[port].close()
                status, answer = 0, b""
            if status >= 500 and status != 503:
                errors.append((client, batch, status, answer[:300]))
            if status not in (0, 429) and status < 500:
                break
            time.sleep(0.2)
        if status == 200 and orjson.loads(answer)["accepted"] == len(points):
            sent |= expected


def _ingest_concurrently(ports: list[int], key: str) -> tuple[set, list]:
    now_ms = int(time.time()) * 1000
    history_ms = (now_ms // HOUR_MS - 26) * HOUR_MS  # ~8 h of points, a day ago
    sent: set = set()
    errors: list = []
    clients = [
        threading.Thread(target=_client, args=(c, ports, key, (now_ms, history_ms), sent, errors))
        for c in range(CLIENTS)
    ]
    for thread in clients:
        thread.start()
    for thread in clients:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in clients)
    return sent, errors


def _stored() -> list[tuple]:
    return [
        (name, labels["client"], ts_ms, value)
        for name in ("ops_load", "ops_history")
        for labels, ts_ms, value in stored_points(name)
    ]


def _every_second(task: str) -> None:
    every, _ = IntervalSchedule.objects.get_or_create(every=1, period=IntervalSchedule.SECONDS)
    queue = "alerts" if task.startswith("aivmon.alerts.") else "maintenance"
    PeriodicTask.objects.create(name=f"ops {task}", task=task, interval=every, queue=queue)


_SENDING = re.compile(r"Sending due task \S+(?: \S+)? \((\S+)\)")
QUIET_S = 3.0  # beat sends every second: this long without a send, it has stopped sending


def _beat_stopped_sending(beat) -> None:
    """Disable every periodic task and wait until beat sends nothing more. Beat logs "Sending
    due task" before it publishes: stopped in the middle of a tick, the last task it logged
    might never reach the broker, and the count of sends would hold one that never was."""
    PeriodicTask.objects.update(enabled=False)
    PeriodicTasks.update_changed()  # what beat's DatabaseScheduler watches for changes
    seen = {"sends": -1, "since": time.monotonic()}

    def quiet() -> bool:
        sends = len(_SENDING.findall(beat.output()))
        if sends != seen["sends"]:
            seen.update(sends=sends, since=time.monotonic())
        return time.monotonic() - seen["since"] >= QUIET_S

    wait_for(quiet, what="beat to stop sending", processes=[beat])


def _hours_closed(now_ms: int) -> int:
    return (now_ms - ROLLUP_GRACE_MS) // HOUR_MS


def test_two_web_processes_and_two_workers_share_the_load_without_loss_or_duplicates(
    start_web, start_worker, start_celery, make_key, tmp_path
):
    webs = [start_web("web-a", wait=False), start_web("web-b", wait=False)]
    workers = [start_worker("worker-a"), start_worker("worker-b")]
    processes = [w.process for w in webs] + workers
    for web in webs:
        web_wait(web)
    admin = make_key("admin")
    connection = http.client.HTTPConnection("127.0.0.1", webs[0].port, timeout=HTTP_TIMEOUT_S)
    rule = {
        "name": "ops load",
        "kind": "metric_threshold",
        "severity": "high",
        "params": {
            "metric": "ops_load",
            "service": "ops",
            "agg": "max",
            "window_s": 1800,
            "op": ">",
            "threshold": THRESHOLD,
            "for_s": 0,
        },
    }
    status, answer = post(
        connection,
        "/api/v1/alert-rules",
        orjson.dumps(rule),
        {"Content-Type": "application/json", "X-API-Key": admin},
    )
    assert status == 201, answer

    sent, server_errors = _ingest_concurrently([w.port for w in webs], make_key("ingest"))

    stored = _stored()
    assert len(sent) == CLIENTS * BATCHES * POINTS * 2
    assert (sorted(sent - set(stored)), sorted(set(stored) - sent)) == ([], [])
    assert len(stored) == len(sent)
    fingerprints = wait_for(
        lambda: Alert.objects.values("fingerprint").distinct().count() == CLIENTS,
        what="an alert for every client's series",
        processes=processes,
    )
    assert fingerprints

    # The same periodic job at once on both workers: one run rolls the backlog up.
    rollup_started_ms = round(time.time() * 1000)
    burst = {rollup.apply_async().id for _ in range(4)}
    wait_for(
        lambda: (
            sum(len(task_runs(w.output()).get("aivmon.metrics.rollup", {})) for w in workers)
            == len(burst)
        ),
        what="the four rollup runs",
        processes=processes,
    )
    # One beat sends the periodic jobs every second; two workers share them.
    for task in PERIODIC[1:]:
        _every_second(task)
    beat = start_celery(
        "beat",
        "beat",
        "--scheduler",
        "django_celery_beat.schedulers:DatabaseScheduler",
        "--pidfile=",
        f"--schedule={tmp_path / 'celerybeat-schedule'}",
    )
    wait_for(
        lambda: len(re.findall(r"Sending due task ops aivmon\.alerts\.tick", beat.output())) >= 5,
        what="beat to send five ticks",
        processes=[*processes, beat],
    )
    _beat_stopped_sending(beat)
    beat.stop()
    sends = Counter(_SENDING.findall(beat.output()))

    def all_ran() -> bool:
        runs = [task_runs(w.output()) for w in workers]
        return all(
            sum(
                len(r.get(t, {})) + _expired(w.output(), t)
                for r, w in zip(runs, workers, strict=True)
            )
            >= sends[t] + (len(burst) if t == "aivmon.metrics.rollup" else 0)
            for t in PERIODIC
        )

    wait_for(all_ran, what="the workers to run what beat sent", processes=processes)
    outputs = [w.output() for w in workers]
    runs = [task_runs(o) for o in outputs]
    for task in PERIODIC:
        ids = Counter()
        for worker_runs in runs:
            ids.update(worker_runs.get(task, Counter()))
        expired = sum(_expired(o, task) for o in outputs)
        extra = len(burst) if task == "aivmon.metrics.rollup" else 0
        assert set(ids.values()) == {1}, (task, ids)  # no message ran twice
        assert len(ids) + expired == sends[task] + extra, (task, len(ids), expired, sends[task])
        assert sends[task] >= 2, (task, sends)  # periodic: sent again and again

    rolled = [
        ast.literal_eval(r) for o in outputs for r in task_results(o, "aivmon.metrics.rollup")
    ]
    hour_boundaries = _hours_closed(round(time.time() * 1000)) - _hours_closed(rollup_started_ms)
    assert len([r for r in rolled if r.get("hours")]) == 1 + hour_boundaries, rolled
    hourly = Rollup.objects.filter(series__name="ops_history", resolution="hour")
    assert sum(hourly.values_list("count", flat=True)) == len(stored_points("ops_history"))
    assert set(Alert.objects.values_list("fingerprint", flat=True).distinct()) and all(
        n == 1 for n in Counter(Alert.objects.values_list("fingerprint", flat=True)).values()
    )
    assert sorted(a.labels["client"] for a in Alert.objects.all()) == [
        str(c) for c in range(CLIENTS)
    ]
    assert not [o for o in outputs if "Traceback" in o], "\n".join(w.output_tail() for w in workers)
    assert server_errors == [], logged_exceptions([w.process for w in webs])


def _expired(output: str, task: str) -> int:
    return len(re.findall(rf"Discarding revoked task: {re.escape(task)}\[", output))
