import hashlib
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from apps.accounts import services
from apps.accounts.models import ApiKey
from tests.conftest import key_client

pytestmark = pytest.mark.django_db


def test_a_key_has_the_documented_format_and_only_its_hash_is_stored(make_key):
    raw = make_key("read")

    _, prefix, secret = raw.split("_", 2)
    stored = ApiKey.objects.get(prefix=prefix)
    assert raw.startswith("aivmon_") and len(prefix) == 8
    assert stored.key_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str(ApiKey.objects.filter(pk=stored.pk).values().first())


def test_a_key_is_accepted_as_bearer_and_as_x_api_key(make_key):
    raw = make_key("read")

    assert key_client(raw).get("/api/v1/me").status_code == 200
    assert Client(HTTP_X_API_KEY=raw).get("/api/v1/me").status_code == 200


@pytest.mark.parametrize(
    "wrong",
    [
        "aivmon_deadbeef_notthesecret",
        "not-a-key",
        "aivmon_short_x",
        "",
    ],
)
def test_a_wrong_key_gets_401(make_key, wrong):
    make_key("read")

    response = Client(HTTP_AUTHORIZATION=f"Bearer {wrong}").get("/api/v1/audit")

    assert response.status_code == 401
    assert response.json()["error"]["code"] in {"authentication_failed", "not_authenticated"}


def test_a_right_prefix_with_a_wrong_secret_gets_401(make_key):
    raw = make_key("admin")
    forged = raw[: raw.rindex("_") + 1] + "x" * 43

    assert key_client(forged).get("/api/v1/audit").status_code == 401


def test_a_key_lacking_the_scope_gets_403(make_key):
    response = key_client(make_key("read", "ingest")).get("/api/v1/audit")

    assert response.status_code == 403


def test_the_admin_scope_implies_read_and_write():
    key = ApiKey(scopes=["admin"])

    assert key.has_scope("read") and key.has_scope("write") and not key.has_scope("ingest")


def test_an_expired_key_gets_401(make_key):
    raw = make_key("admin", expires_at=timezone.now() - timedelta(seconds=1))

    assert key_client(raw).get("/api/v1/audit").status_code == 401


def test_a_revoked_key_gets_401(make_key):
    raw = make_key("admin")
    key = ApiKey.objects.get(prefix=raw.split("_")[1])

    services.api_key_revoke(key=key)

    assert key_client(raw).get("/api/v1/audit").status_code == 401


def test_revoking_twice_has_one_effect(make_key):
    key = ApiKey.objects.get(prefix=make_key("read").split("_")[1])

    first = services.api_key_revoke(key=key)
    second = services.api_key_revoke(key=ApiKey.objects.get(pk=key.pk))

    assert (first, second) == (True, False)


def test_a_key_of_an_inactive_owner_gets_401(make_key, admin_user):
    raw = make_key("admin", owner=admin_user)
    admin_user.is_active = False
    admin_user.save()

    assert key_client(raw).get("/api/v1/audit").status_code == 401


def test_last_used_is_written_at_most_once_a_minute(make_key):
    raw = make_key("read")
    client = key_client(raw)
    client.get("/api/v1/me")
    key = ApiKey.objects.get(prefix=raw.split("_")[1])
    first_use = key.last_used_at

    client.get("/api/v1/me")
    unchanged = ApiKey.objects.get(pk=key.pk).last_used_at
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=first_use - timedelta(seconds=61))
    services.api_key_cache_clear()  # as a process that has not seen the key yet
    client.get("/api/v1/me")

    assert first_use is not None and unchanged == first_use
    assert ApiKey.objects.get(pk=key.pk).last_used_at > first_use


def test_an_admin_creates_a_key_over_the_api_and_sees_it_once(admin_client):
    response = admin_client.post(
        "/api/v1/api-keys",
        {"name": "collector", "scopes": ["ingest"], "expires_days": 30},
        content_type="application/json",
    )

    created = response.json()
    listed = admin_client.get("/api/v1/api-keys").json()["results"]
    assert response.status_code == 201 and created["key"].startswith("aivmon_")
    assert [key["name"] for key in listed] == ["collector"]
    assert "key" not in listed[0] and "key_hash" not in listed[0]
    assert key_client(created["key"]).get("/api/v1/me").json()["scopes"] == ["ingest"]


def test_creating_a_key_with_an_unknown_scope_is_a_400(admin_client):
    response = admin_client.post(
        "/api/v1/api-keys", {"name": "x", "scopes": ["root"]}, content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert "scopes" in response.json()["error"]["details"]


def test_an_admin_revokes_a_key_over_the_api(admin_client, make_key):
    raw = make_key("read")
    key = ApiKey.objects.get(prefix=raw.split("_")[1])

    response = admin_client.post(f"/api/v1/api-keys/{key.pk}/revoke")

    assert response.status_code == 200 and response.json()["revoked_at"]
    assert key_client(raw).get("/api/v1/me").status_code == 401


def test_the_create_api_key_command_prints_only_the_key(capsys):
    call_command("create_api_key", "--name", "ci", "--scopes", "ingest,read", "--expires-days", "7")

    out = capsys.readouterr().out
    raw = out.strip()
    assert out.count("\n") == 1 and raw.startswith("aivmon_")
    key = ApiKey.objects.get(prefix=raw.split("_")[1])
    assert key.scopes == ["ingest", "read"] and key.expires_at is not None
    assert key_client(raw).get("/api/v1/me").status_code == 200


def test_the_admin_page_creates_a_key_and_shows_it_once(admin_client):
    response = admin_client.post(
        "/admin/accounts/apikey/add/", {"name": "from admin", "scopes": ["read"], "owner": ""}
    )

    page = response.content.decode()
    key = ApiKey.objects.get(name="from admin")
    raw = page.split('id="raw-key"')[1].split(">")[1].split("<")[0]
    assert response.status_code == 200 and raw.startswith(f"aivmon_{key.prefix}_")
    assert key_client(raw).get("/api/v1/me").status_code == 200
    assert raw not in admin_client.get(f"/admin/accounts/apikey/{key.pk}/change/").content.decode()


def test_the_admin_action_revokes_keys(admin_client, make_key):
    raw = make_key("read")
    key = ApiKey.objects.get(prefix=raw.split("_")[1])

    admin_client.post(
        "/admin/accounts/apikey/", {"action": "revoke_selected", "_selected_action": [key.pk]}
    )

    assert ApiKey.objects.get(pk=key.pk).revoked_at is not None


def test_a_known_key_costs_no_query_after_the_first_request(make_key, django_assert_num_queries):
    client = key_client(make_key("read"))
    client.get("/api/v1/me")

    with django_assert_num_queries(0):
        assert client.get("/api/v1/me").status_code == 200
