"""End to end through a real Celery worker: a security threat raises an alert that reaches a
webhook receiver without waiting for the periodic tick (no beat runs here)."""

import pytest

from apps.alerts import services
from apps.alerts.models import Alert
from apps.audit.services import SYSTEM
from tests.alerts.factories import RuleFactory
from tests.alerts.servers import RecordingHTTPServer
from tests.conftest import key_client
from tests.security.support import failures, post_events
from tests.support.processes import wait_for

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]


def test_a_brute_force_threat_reaches_the_webhook_through_the_worker(celery_worker, make_key):
    with RecordingHTTPServer() as receiver:
        channel = services.channel_save(
            channel=None,
            name="hook",
            kind="webhook",
            config={"url": f"{receiver.url}/hook"},
            actor=SYSTEM,
        )
        RuleFactory(kind="security", params={"min_severity": "high"}, channels=[channel])

        response = post_events(key_client(make_key("ingest")), failures(12))
        wait_for(
            lambda: receiver.requests,
            what="the webhook delivery of the alert",
            processes=[celery_worker],
        )

    body = receiver.requests[0].json()
    assert response.status_code == 200
    assert body["event"] == "firing"
    assert body["alert"]["labels"]["kind"] in {"brute_force", "credential_stuffing"}
    assert Alert.objects.filter(notified_state="firing").exists()


def test_the_periodic_tick_evaluates_a_metric_rule_and_notifies_through_the_worker(
    celery_worker,
):
    from apps.alerts.tasks import tick
    from tests.alerts.factories import cpu

    with RecordingHTTPServer() as receiver:
        channel = services.channel_save(
            channel=None,
            name="hook",
            kind="webhook",
            config={"url": f"{receiver.url}/hook"},
            actor=SYSTEM,
        )
        RuleFactory(channels=[channel])
        cpu(97)

        tick.apply_async()  # as beat sends it: the task's own options apply
        wait_for(
            lambda: receiver.requests,
            what="the webhook delivery of the tick's alert",
            processes=[celery_worker],
        )

    body = receiver.requests[0].json()
    assert body["alert"]["labels"]["host"] == "a"
    assert body["alert"]["summary"] == "CPU on a at 97%"
