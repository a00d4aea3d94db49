"""Operations tests: several real web and worker processes on 127.0.0.1, killed and fuzzed."""

import contextlib
import http.client
import re
import sys
import uuid
from collections import Counter
from collections.abc import Callable

import psutil
import pytest

from apps.metrics import models as metrics_models
from tests.conftest import CELERY_QUEUES, WORKER_OPTIONS
from tests.support.processes import ManagedProcess, answers_healthz, free_port, wait_for

HTTP_TIMEOUT_S = 15


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "ops: several real processes at once (scale-out, kill -9, fuzzing); slow"
    )


class Web:
    """One gunicorn (its own master and worker) on its own port."""

    def __init__(self, process: ManagedProcess, port: int) -> None:
        self.process = process
        self.port = port

    def kill_9(self) -> None:
        """SIGKILL the master and its workers at once, as a crash or an OOM kill would."""
        kill_tree(self.process.process.pid)
        self.process.process.wait(timeout=15)

    def kill_9_workers(self) -> int:
        """SIGKILL the worker processes that serve the requests (the master forks new ones)."""
        workers = psutil.Process(self.process.process.pid).children()
        for worker in workers:
            worker.kill()
        return len(workers)


@pytest.fixture
def start_web(start_process) -> Callable[..., Web]:
    """Start `gunicorn aivmon.wsgi -c gunicorn.conf.py` on a port (new unless given)."""

    def start(
        name: str, *, port: int | None = None, workers: int = 1, wait: bool = True, preload=False
    ) -> Web:
        port = port or free_port()
        argv = [sys.executable, "-m", "gunicorn", "aivmon.wsgi", "-c", "gunicorn.conf.py"]
        argv += ["--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--threads", "4"]
        # --preload: the master imports the app once, so a killed worker is replaced in
        # milliseconds, not in the seconds an import takes on a busy machine.
        argv += ["--preload"] if preload else []
        web = Web(start_process(name, argv), port)
        if wait:
            web_wait(web)
        return web

    return start


def web_wait(web: Web) -> None:
    wait_for(
        lambda: answers_healthz(web.port),
        what=f"{web.process.name} to answer on {web.port}",
        processes=[web.process],
    )


@pytest.fixture
def start_worker(start_celery) -> Callable[[str], ManagedProcess]:
    """Start a Celery worker (solo pool) on every queue, with a unique node name."""

    def start(name: str) -> ManagedProcess:
        node = f"{name}-{uuid.uuid4().hex[:6]}@%h"
        return start_celery(
            name, "worker", *WORKER_OPTIONS, "--pool=solo", "-Q", CELERY_QUEUES, "-n", node
        )

    return start


def kill_tree(pid: int) -> None:
    parent = psutil.Process(pid)
    for process in [*parent.children(recursive=True), parent]:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()


def post(
    connection: http.client.HTTPConnection, path: str, body: bytes, headers: dict
) -> tuple[int, bytes]:
    """POST on a kept-alive connection; return the status and the body."""
    connection.request("POST", path, body, headers)
    response = connection.getresponse()
    return response.status, response.read()


def task_runs(output: str) -> dict[str, Counter]:
    """From a worker's log: per task name, how often each task id succeeded."""
    runs: dict[str, Counter] = {}
    for name, task_id in re.findall(r"Task (\S+)\[([0-9a-f-]{36})\] succeeded", output):
        runs.setdefault(name, Counter())[task_id] += 1
    return runs


def task_results(output: str, name: str) -> list[str]:
    """The logged return values of a task's successful runs, in order."""
    return re.findall(rf"Task {re.escape(name)}\[[0-9a-f-]{{36}}\] succeeded in \S+: (.*)", output)


def logged_exceptions(processes: list[ManagedProcess]) -> list[str]:
    """The exception lines the processes logged (to explain a 5xx in an assertion)."""
    return sorted(
        {
            line
            for p in processes
            for line in p.output().splitlines()
            if re.match(r"^[A-Za-z_.]*(Error|Exception): ", line)
        }
    )


def stored_points(name: str) -> list[tuple[dict, int, float]]:
    """(series labels, ts_ms, value) of every plain point stored under a metric name.

    Points live in Point and, on SQLite, in the newer PointHead until compaction moves them
    (apps/metrics/points.py): read both, so that a point counts wherever it is.
    """
    tables = [metrics_models.Point, getattr(metrics_models, "PointHead", None)]
    return [
        row
        for model in tables
        if model is not None
        for row in model.objects.filter(series__name=name).values_list(
            "series__labels", "ts_ms", "value"
        )
    ]
