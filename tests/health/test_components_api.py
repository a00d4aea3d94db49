import pytest
from django.utils import timezone

from apps.alerts.evaluators.base import RuleParamsError
from apps.alerts.evaluators.registry import evaluator_for
from apps.health import services
from apps.health.models import HealthThresholds

pytestmark = pytest.mark.django_db
URL = "/api/v1/health/components"
THRESHOLDS_URL = "/api/v1/health/thresholds"


@pytest.fixture
def checked():
    now = timezone.now()
    services.component_state_record(name="database", status="healthy", details={"x": 1}, at=now)
    services.component_state_record(name="redis", status="unhealthy", details={}, at=now)
    return now


def test_a_viewer_reads_each_components_latest_status(viewer_client, checked):
    body = viewer_client.get(URL).json()

    assert [(item["name"], item["status"]) for item in body["results"]] == [
        ("database", "healthy"),
        ("redis", "unhealthy"),
    ]
    assert body["results"][0]["details"] == {"x": 1}
    assert body["results"][0]["checked_at"].endswith("Z")


def test_the_history_lists_status_changes(viewer_client, checked):
    later = checked + timezone.timedelta(seconds=15)
    services.component_state_record(name="redis", status="healthy", details={}, at=later)

    body = viewer_client.get(f"{URL}/history", {"component": "redis"}).json()

    assert [(c["from_status"], c["to_status"]) for c in body["results"]] == [
        ("unhealthy", "healthy"),
        ("", "unhealthy"),
    ]


def test_anonymous_requests_are_refused(client):
    assert client.get(URL).status_code in {401, 403}


def test_a_viewer_reads_the_thresholds_but_cannot_change_them(viewer_client):
    assert viewer_client.get(THRESHOLDS_URL).json()["heartbeat_unhealthy_s"] == 300.0

    response = viewer_client.patch(
        THRESHOLDS_URL, {"heartbeat_unhealthy_s": 10}, content_type="application/json"
    )

    assert response.status_code == 403


def test_an_admin_edits_the_thresholds(admin_client):
    response = admin_client.patch(
        THRESHOLDS_URL,
        {"queue_degraded": 5, "queue_unhealthy": 50},
        content_type="application/json",
    )

    assert response.status_code == 200
    row = HealthThresholds.objects.get()
    assert (row.queue_degraded, row.queue_unhealthy) == (5, 50)


def test_a_degraded_threshold_past_the_unhealthy_one_is_refused(admin_client):
    response = admin_client.patch(
        THRESHOLDS_URL, {"heartbeat_degraded_s": 900}, content_type="application/json"
    )

    assert response.status_code == 400
    assert "heartbeat_unhealthy_s" in response.json()["error"]["details"]


def test_the_health_rule_kind_observes_each_component_breaching_when_unhealthy(checked):
    evaluator = evaluator_for("health")

    observations = evaluator.evaluate(evaluator.validate({}), now=timezone.now())

    assert [(dict(o.labels), o.breaching) for o in observations] == [
        ({"component": "database"}, False),
        ({"component": "redis"}, True),
    ]


def test_the_health_rule_kind_may_watch_one_component(checked):
    evaluator = evaluator_for("health")

    observations = evaluator.evaluate(
        evaluator.validate({"component": "redis"}), now=timezone.now()
    )

    assert [o.labels["component"] for o in observations] == ["redis"]


def test_the_health_rule_kind_refuses_a_component_that_is_not_text():
    with pytest.raises(RuleParamsError):
        evaluator_for("health").validate({"component": 5})


def test_a_health_rule_is_created_through_the_api(admin_client):
    response = admin_client.post(
        "/api/v1/alert-rules",
        {"name": "parts", "kind": "health", "severity": "high", "params": {"component": "redis"}},
        content_type="application/json",
    )

    assert response.status_code == 201, response.content
    assert response.json()["params"]["component"] == "redis"
