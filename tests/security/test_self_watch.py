"""aivmon watching itself: its sign-ins, lockouts, denials and admin actions are security events."""

import time

import pytest
from django.test import Client

from apps.core.redis import redis_client
from apps.security import analysis
from apps.security.detectors.base import Event
from apps.security.models import SecurityEvent, Threat
from apps.security.services import events_ingest
from tests.conftest import key_client
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

IP = "198.51.100.7"


def _sign_in(client: Client, username: str, password: str):
    return client.post(
        "/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=IP
    )


def test_failed_and_successful_sign_ins_become_auth_events(client, viewer):
    _sign_in(client, "vera", "wrong password")
    _sign_in(client, "vera", PASSWORD)

    events = list(
        SecurityEvent.objects.order_by("id").values_list(
            "event_type", "user_id", "source_ip", "service"
        )
    )
    assert events == [
        ("auth_failure", "vera", IP, "aivmon"),
        ("auth_success", "vera", IP, "aivmon"),
    ]


def test_repeated_failed_sign_ins_raise_a_brute_force_threat_and_a_lockout(client, viewer):
    for _ in range(5):
        _sign_in(client, "vera", "wrong password")

    kinds = set(Threat.objects.values_list("kind", flat=True))
    assert "brute_force" in kinds
    assert SecurityEvent.objects.filter(event_type="account_lockout", user_id="vera").exists()
    assert SecurityEvent.objects.filter(event_type="auth_failure").count() == 5


def test_a_denied_api_call_is_a_permission_denied_event(viewer_client):
    response = viewer_client.post("/api/v1/api-keys", {}, content_type="application/json")

    event = SecurityEvent.objects.get(event_type="permission_denied")
    assert response.status_code == 403
    assert (event.user_id, event.endpoint, event.method) == ("vera", "/api/v1/api-keys", "POST")


def test_a_wrong_api_key_is_an_auth_failure(client):
    key_client("aivmon_deadbeef_not-a-real-secret").get("/api/v1/me")

    event = SecurityEvent.objects.get(event_type="auth_failure")
    assert event.endpoint == "/api/v1/me"


def test_a_non_admin_on_the_admin_site_is_a_permission_denied_event(viewer_client):
    response = viewer_client.get("/admin/")

    assert response.status_code == 403
    assert SecurityEvent.objects.filter(event_type="permission_denied", user_id="vera").exists()


def test_an_admin_change_is_an_admin_operation_event(admin_client):
    response = admin_client.post(
        "/admin/security/blocklistentry/add/",
        {"key_type": "user", "key": "mallory", "reason": "abuse", "severity": 3},
    )

    event = SecurityEvent.objects.get(event_type="admin_operation")
    assert response.status_code == 302
    assert event.user_id == "ada"
    assert event.details["action"] == "admin.add"
    assert event.details["target"].startswith("security.blocklistentry:")


@pytest.fixture
def redis_down(settings):
    """Point the process's Redis client at a port where nothing listens."""
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    redis_client.cache_clear()
    analysis.detectors.cache_clear()
    yield
    redis_client.cache_clear()
    analysis.detectors.cache_clear()


def test_sign_in_still_works_when_redis_is_down(client, viewer, redis_down):
    response = _sign_in(client, "vera", PASSWORD)

    assert response.status_code == 302


def test_observations_are_kept_while_redis_is_down_marked_as_partly_analysed(
    client, viewer, redis_down
):
    _sign_in(client, "vera", "wrong password")
    _sign_in(client, "vera", PASSWORD)

    events = list(SecurityEvent.objects.order_by("id"))
    assert [(event.event_type, event.user_id) for event in events] == [
        ("auth_failure", "vera"),
        ("auth_success", "vera"),
    ]
    for event in events:
        assert event.details["why"] == "Redis unavailable"
        assert set(event.details["unanalysed_by"]) == {"brute_force", "rate_limit", "behavioral"}


def test_without_redis_only_the_detectors_that_need_none_score_events(redis_down):
    event = Event(
        timestamp=time.time(),
        event_type="auth_failure",
        user_id="mallory",
        source_ip=IP,
        params={"username": "admin' OR '1'='1"},
    )

    [result] = events_ingest(events=[event], with_redis=False)

    assert [found.detector for found in result.detections] == ["sql_injection"]
    assert SecurityEvent.objects.get().threat_score == result.threat_score
