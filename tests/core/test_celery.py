"""The Celery wiring, end to end: real worker and beat processes on the test Redis and database.

Nothing is mocked and nothing runs eagerly: the test sends through the broker (or beat does),
a `celery worker` subprocess consumes, and the effect is read back from Redis.
"""

import re
import time
import uuid

import pytest
from django_celery_beat.models import PeriodicTask

from apps.core import selectors, tasks
from tests.conftest import CELERY_QUEUES
from tests.support.processes import ManagedProcess, wait_for

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def celery_beat(start_celery, tmp_path) -> ManagedProcess:
    return start_celery(
        "beat",
        "beat",
        "--scheduler",
        "django_celery_beat.schedulers:DatabaseScheduler",
        "--pidfile=",
        f"--schedule={tmp_path / 'celerybeat-schedule'}",
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


def test_task_counts_of_the_worker_reach_metrics(start_celery, tmp_path, monkeypatch, client):
    # As under `make run`: every process writes to one directory that /metrics sums up.
    (tmp_path / "prometheus").mkdir()
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "prometheus"))
    worker = start_celery(
        "worker",
        "worker",
        "--pool=solo",
        "-Q",
        CELERY_QUEUES,
        "-n",
        f"test-{uuid.uuid4().hex[:8]}@%h",
    )

    tasks.heartbeat.apply_async(queue="maintenance")

    counted = 'aivmon_celery_tasks_total{state="success",task="aivmon.core.heartbeat"} 1.0'
    wait_for(
        lambda: counted in client.get("/metrics").content.decode(),
        what="the worker's task count in /metrics",
        processes=[worker],
    )
