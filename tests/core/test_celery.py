"""The Celery wiring, end to end: real worker and beat processes on the test Redis and database.

Nothing is mocked and nothing runs eagerly: the test sends through the broker (or beat does),
a `celery worker` subprocess consumes, and the effect is read back from Redis.
"""

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection
from django_celery_beat.models import PeriodicTask

from apps.core import selectors, tasks

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]

QUEUES = "ingest,detect,alerts,maintenance"
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 15.0
OUTPUT_TAIL_CHARS = 4000


def database_url_for_current_test_db() -> str:
    """Return a DATABASE_URL naming the database this test runs on (the test database)."""
    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{Path(db['NAME']).resolve()}"  # absolute path: sqlite:////abs/path
    if db["ENGINE"] == "django.db.backends.postgresql":
        credentials = quote(db["USER"], safe="")
        if db.get("PASSWORD"):
            credentials += ":" + quote(db["PASSWORD"], safe="")
        host = quote(db.get("HOST") or "localhost", safe="")
        port = f":{db['PORT']}" if db.get("PORT") else ""
        return f"postgres://{credentials}@{host}{port}/{quote(db['NAME'], safe='')}"
    raise AssertionError(f"no DATABASE_URL form for {db['ENGINE']}")


def celery_subprocess_env() -> dict[str, str]:
    """Environment for a worker or beat: test settings, this test's Redis and database."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "aivmon.settings.test",
        "REDIS_URL": settings.REDIS_URL,
        "DATABASE_URL": database_url_for_current_test_db(),
        "PYTHONUNBUFFERED": "1",
    }


class CeleryProcess:
    """A running `celery` subprocess whose stdout and stderr go to a log file."""

    def __init__(self, name: str, argv: list[str], log_path: Path) -> None:
        self.name = name
        self.log_path = log_path
        self.started_at = time.time()
        self._log = log_path.open("wb")
        self.process = subprocess.Popen(
            argv,
            cwd=settings.BASE_DIR,
            env=celery_subprocess_env(),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def output_tail(self) -> str:
        return f"--- {self.name} output (tail) ---\n{self.output()[-OUTPUT_TAIL_CHARS:]}"

    def stop(self) -> None:
        """SIGTERM (warm shutdown), wait; SIGKILL if it does not exit in time."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=STOP_TIMEOUT_S)
        self._log.close()


@pytest.fixture
def start_celery(transactional_db, tmp_path, request) -> Callable[..., CeleryProcess]:
    """Start `python -m celery -A aivmon <args>`; it is stopped when the test ends, pass or fail.

    Depends on transactional_db so the processes stop before the test database is flushed.
    """

    def start(name: str, *args: str) -> CeleryProcess:
        argv = [sys.executable, "-m", "celery", "-A", "aivmon", *args, "--loglevel=INFO"]
        process = CeleryProcess(name, argv, tmp_path / f"{name}.log")
        request.addfinalizer(process.stop)
        return process

    return start


@pytest.fixture
def celery_worker(start_celery) -> CeleryProcess:
    return start_celery(
        "worker",
        "worker",
        "--pool=solo",
        "--concurrency=1",
        "-Q",
        QUEUES,
        "-n",
        f"test-{uuid.uuid4().hex[:8]}@%h",
    )


@pytest.fixture
def celery_beat(start_celery, tmp_path) -> CeleryProcess:
    return start_celery(
        "beat",
        "beat",
        "--scheduler",
        "django_celery_beat.schedulers:DatabaseScheduler",
        "--pidfile=",
        f"--schedule={tmp_path / 'celerybeat-schedule'}",
    )


def wait_for(
    condition: Callable[[], object], *, what: str, processes: list[CeleryProcess]
) -> object:
    """Poll `condition` until it returns a truthy value; fail with the processes' output."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        exited = [p for p in processes if p.process.poll() is not None]
        if exited:
            pytest.fail(
                f"{', '.join(p.name for p in exited)} exited (code "
                f"{exited[0].process.returncode}) while waiting for {what}\n"
                + "\n".join(p.output_tail() for p in processes)
            )
        time.sleep(0.1)
    pytest.fail(
        f"timed out after {START_TIMEOUT_S:.0f}s waiting for {what}\n"
        + "\n".join(p.output_tail() for p in processes)
    )


def test_a_real_worker_runs_the_heartbeat_task(celery_worker):
    assert selectors.heartbeat_last() is None
    sent_at = time.time()

    tasks.heartbeat.apply_async(queue="maintenance")

    heartbeat = wait_for(
        selectors.heartbeat_last, what="the worker's heartbeat", processes=[celery_worker]
    )
    assert heartbeat >= sent_at
    wait_for(
        lambda: re.search(
            r"Task aivmon\.core\.heartbeat\[[^]]+\] succeeded", celery_worker.output()
        ),
        what="the worker to log the task as succeeded",
        processes=[celery_worker],
    )


def test_beat_schedules_the_heartbeat_that_a_worker_runs(celery_worker, celery_beat):
    processes = [celery_worker, celery_beat]

    first = wait_for(
        selectors.heartbeat_last, what="a first scheduled heartbeat", processes=processes
    )

    def advanced() -> float | None:
        value = selectors.heartbeat_last()
        return value if value is not None and value > first else None

    later = wait_for(
        advanced, what="the heartbeat to advance (a second scheduled run)", processes=processes
    )

    assert celery_beat.started_at <= first < later
    # Beat ran on this test's database: DatabaseScheduler copied the code-defined entry into it.
    assert PeriodicTask.objects.filter(name="aivmon.core.heartbeat", enabled=True).exists(), (
        celery_beat.output_tail()
    )
