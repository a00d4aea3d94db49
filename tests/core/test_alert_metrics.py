"""/metrics counts alerts by state and severity and notification attempts."""

import pytest
from django.utils import timezone

from apps.alerts import engine
from tests.alerts.factories import RuleFactory, cpu

pytestmark = pytest.mark.django_db


def test_metrics_counts_alerts_by_state_and_severity(client):
    RuleFactory()
    cpu(97, host="a")
    cpu(98, host="b")
    engine.rules_evaluate(now=timezone.now())

    body = client.get("/metrics").content.decode()

    assert 'aivmon_alerts{severity="high",state="firing"} 2.0' in body
    assert 'aivmon_alerts{severity="critical",state="firing"} 0.0' in body
    assert 'aivmon_alerts{severity="high",state="resolved"} 0.0' in body


def test_metrics_describes_notification_attempts(client):
    body = client.get("/metrics").content.decode()

    assert "# TYPE aivmon_alert_notifications_total counter" in body
