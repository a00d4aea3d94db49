"""A stopped worker makes the workers component unhealthy and raises a health alert; a worker
started again resolves it. Real Celery workers on the test Redis."""

import uuid

import pytest
from celery import current_app
from django.utils import timezone

from apps.alerts.constants import AlertState
from apps.alerts.engine import rules_evaluate
from apps.alerts.models import Alert
from apps.health import services
from apps.health.models import ComponentState
from tests.alerts.factories import RuleFactory
from tests.conftest import CELERY_QUEUES
from tests.support.processes import wait_for

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]


def workers_answering() -> bool:
    return bool(current_app.control.ping(timeout=0.5))


def check_and_evaluate() -> str:
    now = timezone.now()
    services.components_check(now=now)
    rules_evaluate(now=now)
    return ComponentState.objects.get(name="workers").status


def test_a_stopped_worker_raises_a_health_alert_and_a_started_one_resolves_it(
    celery_worker, start_celery
):
    rule = RuleFactory(kind="health", params={"component": "workers"})
    wait_for(workers_answering, what="the worker to answer", processes=[celery_worker])
    assert check_and_evaluate() == "healthy"
    assert not Alert.objects.filter(rule=rule).exists()

    celery_worker.stop()
    stopped = check_and_evaluate()
    alert = Alert.objects.get(rule=rule)
    fired = alert.state

    restarted = start_celery(
        "worker2",
        "worker",
        "--pool=solo",
        "-Q",
        CELERY_QUEUES,
        "-n",
        f"t-{uuid.uuid4().hex[:8]}@%h",
    )
    wait_for(workers_answering, what="the new worker to answer", processes=[restarted])
    started = check_and_evaluate()
    alert.refresh_from_db()

    assert stopped == "unhealthy"
    assert fired == AlertState.FIRING
    assert alert.labels["component"] == "workers"
    assert started == "healthy"
    assert alert.state == AlertState.RESOLVED
