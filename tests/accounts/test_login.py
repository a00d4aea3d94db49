import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from apps.accounts.models import LoginAttempt
from apps.audit.models import AuditEvent
from tests.factories import PASSWORD, UserFactory
from tests.support.hashers import CountingHasher

pytestmark = pytest.mark.django_db


def _sign_in(client: Client, username: str, password: str, ip: str = "198.51.100.7"):
    return client.post(
        "/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=ip
    )


def _fail(client: Client, username: str, times: int, ip: str = "198.51.100.7") -> None:
    for _ in range(times):
        assert _sign_in(client, username, "wrong password", ip).status_code == 200


def test_a_viewer_signs_in_and_reaches_the_overview(client, viewer):
    response = _sign_in(client, "vera", PASSWORD)

    assert response.status_code == 302 and response["Location"] == "/ui/"
    assert client.get("/ui/").status_code == 200


def test_every_success_and_failure_is_recorded(client, viewer):
    _fail(client, "vera", 1)
    _sign_in(client, "vera", PASSWORD)

    outcomes = list(LoginAttempt.objects.order_by("created_at").values_list("outcome", "ip"))
    actions = list(AuditEvent.objects.order_by("id").values_list("action", flat=True))
    assert outcomes == [("failure", "198.51.100.7"), ("success", "198.51.100.7")]
    assert actions[-2:] == ["auth.login_failure", "auth.login_success"]


def test_five_failures_lock_the_username_with_429_and_retry_after(client, viewer):
    _fail(client, "vera", 5)

    response = _sign_in(client, "vera", PASSWORD, ip="203.0.113.9")

    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 15 * 60
    assert "Too many failed sign-in attempts" in response.content.decode()
    assert AuditEvent.objects.filter(action="auth.lockout").count() == 1


def test_five_failures_from_one_ip_lock_other_usernames_too(client, viewer):
    for name in ("a", "b", "c", "d", "e"):
        _fail(client, name, 1)

    assert _sign_in(client, "vera", PASSWORD).status_code == 429


def test_unknown_and_known_usernames_get_the_same_answers(client, viewer):
    known = [_sign_in(client, "vera", "nope", ip="192.0.2.1") for _ in range(6)]
    unknown = [_sign_in(client, "nobody", "nope", ip="192.0.2.2") for _ in range(6)]

    assert [r.status_code for r in known] == [r.status_code for r in unknown]
    assert [r.status_code for r in known] == [200] * 5 + [429]
    assert _page_text(known[0], "vera") == _page_text(unknown[0], "nobody")
    assert _page_text(known[5], "vera") == _page_text(unknown[5], "nobody")


def _page_text(response, username: str) -> str:
    """The page without what differs by design: the CSRF token and the typed username."""
    page = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())
    return page.replace(username, "X")


def test_a_locked_attempt_hashes_no_password(client, settings):
    settings.PASSWORD_HASHERS = ["tests.support.hashers.CountingHasher"]
    UserFactory(username="vera", role="viewer")
    _fail(client, "vera", 5)
    before = CountingHasher.calls

    response = _sign_in(client, "vera", PASSWORD)

    assert response.status_code == 429
    assert CountingHasher.calls == before
    assert LoginAttempt.objects.filter(outcome="locked").count() == 1


def test_the_lock_lifts_when_the_failures_leave_the_window(client, viewer):
    _fail(client, "vera", 5)
    LoginAttempt.objects.update(created_at=timezone.now() - timedelta(minutes=16))

    assert _sign_in(client, "vera", PASSWORD).status_code == 302


def test_a_success_resets_the_username_count(client, viewer):
    _fail(client, "vera", 4, ip="192.0.2.10")
    _sign_in(client, "vera", PASSWORD, ip="192.0.2.11")
    Client().logout()

    _fail(Client(), "vera", 4, ip="192.0.2.12")

    assert _sign_in(Client(), "vera", PASSWORD, ip="192.0.2.13").status_code == 302


def test_usernames_are_counted_case_insensitively(client, viewer):
    for name in ("vera", "Vera", "VERA", "vEra", "veRa"):
        _fail(client, name, 1, ip=f"192.0.2.{len(name) + ord(name[1])}")

    assert _sign_in(client, "vera", PASSWORD, ip="192.0.2.200").status_code == 429


def test_signing_out_is_audited(viewer_client):
    response = viewer_client.post("/accounts/logout/")

    assert response.status_code == 200
    assert AuditEvent.objects.filter(action="auth.logout", actor_label="vera").exists()
    assert viewer_client.get("/ui/").status_code == 302


def test_the_admin_login_sends_people_to_the_one_login_page(client):
    response = client.get("/admin/login/?next=/admin/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/admin/"


def test_the_admin_login_refuses_an_offsite_next(client):
    response = client.get("/admin/login/?next=https://evil.example/")

    assert response["Location"] == "/accounts/login/?next=/admin/"
