"""The rule kinds other than metric thresholds, and the on-ingest triggers."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.alerts import engine, triggers
from apps.alerts.constants import AlertState
from apps.alerts.evaluators.base import RuleParamsError
from apps.alerts.evaluators.registry import evaluator_for
from apps.alerts.models import Alert
from apps.audit.services import SYSTEM
from apps.core.constants import Severity
from apps.logs.services import LogIn, logs_write
from apps.security import services as security
from tests.alerts.factories import RuleFactory, cpu
from tests.security.factories import ThreatFactory

pytestmark = pytest.mark.django_db


def _states() -> list[str]:
    return list(Alert.objects.order_by("pk").values_list("state", flat=True))


def test_a_security_rule_fires_per_open_threat_and_resolves_on_triage():
    RuleFactory(kind="security", params={"min_severity": "high"})
    threat = ThreatFactory(severity=Severity.CRITICAL, key="203.0.113.9", kind="sql_injection")
    ThreatFactory(severity=Severity.MEDIUM)

    engine.rules_evaluate(now=timezone.now())
    alert = Alert.objects.get()
    security.threat_mark_false_positive(threat=threat, actor=SYSTEM)
    engine.rules_evaluate(now=timezone.now())

    assert alert.labels["ip"] == "203.0.113.9" and alert.labels["kind"] == "sql_injection"
    assert _states() == [AlertState.RESOLVED]


def test_a_log_match_rule_counts_matching_records_in_its_window():
    RuleFactory(
        kind="log_match",
        params={
            "q": "payment failed",
            "service": "api",
            "window_s": 300,
            "op": ">=",
            "threshold": 2,
        },
    )
    now_ns = int(timezone.now().timestamp() * 1e9)
    logs_write(
        logs=[
            LogIn(
                ts_ns=now_ns - i * 1_000_000,
                severity_number=17,
                severity_text="ERROR",
                body="payment failed for order",
                service="api",
                attributes={},
                resource={},
                trace_id=None,
                span_id=None,
            )
            for i in range(2)
        ]
    )

    engine.rules_evaluate(now=timezone.now())

    alert = Alert.objects.get()
    assert alert.state == AlertState.FIRING and alert.value == 2.0


def test_a_metric_absence_rule_fires_when_a_metric_stops_and_resolves_when_it_returns():
    RuleFactory(kind="metric_absence", params={"metric": "cpu_percent", "for_s": 120})
    now = timezone.now()
    cpu(50, at=now)

    engine.rules_evaluate(now=now + timedelta(seconds=60))
    quiet = _states()
    engine.rules_evaluate(now=now + timedelta(seconds=200))
    absent = _states()

    assert quiet == [] and absent == [AlertState.FIRING]


def test_a_metric_absence_rule_watching_nothing_fires_when_no_point_arrives_and_resolves_on_one():
    RuleFactory(kind="metric_absence", params={"for_s": 60})
    now = timezone.now()

    engine.rules_evaluate(now=now)
    nothing_arrived = _states()
    cpu(50, at=now + timedelta(seconds=10))
    engine.rules_evaluate(now=now + timedelta(seconds=20))
    a_point_arrived = _states()

    assert nothing_arrived == [AlertState.FIRING]
    assert a_point_arrived == [AlertState.RESOLVED]


def test_a_metric_absence_rule_watching_nothing_fires_when_every_metric_stops():
    RuleFactory(kind="metric_absence", params={"for_s": 60})
    now = timezone.now()
    cpu(50, at=now)

    engine.rules_evaluate(now=now + timedelta(seconds=30))
    quiet = _states()
    engine.rules_evaluate(now=now + timedelta(seconds=90))

    assert quiet == [] and _states() == [AlertState.FIRING]


def test_a_metric_absence_shorter_than_last_seen_is_kept_says_why():
    with pytest.raises(RuleParamsError) as refused:
        evaluator_for("metric_absence").validate({"for_s": 5})

    assert "at most once every 60 s" in refused.value.errors["for_s"]


def test_ingested_metrics_queue_one_evaluation_per_watching_rule(
    django_capture_on_commit_callbacks,
):
    watching = RuleFactory()
    RuleFactory(params={**watching.params, "metric": "other_metric"})
    triggers.rules_forget()

    with django_capture_on_commit_callbacks() as queued:
        triggers.metrics_ingested(["cpu_percent", "unrelated"])
        triggers.metrics_ingested(["cpu_percent"])  # still pending: no second task

    assert len(queued) == 1
    triggers.pending_clear([watching.pk])
    with django_capture_on_commit_callbacks() as again:
        triggers.metrics_ingested(["cpu_percent"])
    assert len(again) == 1


def test_metrics_nobody_watches_queue_nothing(django_capture_on_commit_callbacks):
    triggers.rules_forget()

    with django_capture_on_commit_callbacks() as queued:
        triggers.metrics_ingested(["cpu_percent"])

    assert queued == []


def test_a_native_metrics_batch_flags_the_rules_watching_it_for_evaluation(make_key):
    from apps.core.redis import redis_client
    from tests.conftest import key_client

    watching = RuleFactory()
    other = RuleFactory(params={**watching.params, "metric": "other_metric"})
    triggers.rules_forget()
    body = {"service": "api", "points": [{"name": "cpu_percent", "type": "gauge", "value": 97}]}

    response = key_client(make_key("ingest")).post(
        "/api/v1/ingest/metrics", body, content_type="application/json"
    )

    pending = {
        rule.pk: redis_client().exists(f"aivmon:alerts:pending:{rule.pk}")
        for rule in (watching, other)
    }
    assert response.status_code == 200
    assert pending == {watching.pk: 1, other.pk: 0}
