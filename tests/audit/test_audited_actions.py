"""What the foundation writes to the audit log."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command

from apps.accounts.models import ApiKey
from apps.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def _actions() -> list[str]:
    return list(AuditEvent.objects.order_by("id").values_list("action", flat=True))


def test_creating_and_revoking_a_key_over_the_api_is_audited_with_the_actor(admin_client):
    created = admin_client.post(
        "/api/v1/api-keys", {"name": "k", "scopes": ["read"]}, content_type="application/json"
    ).json()
    admin_client.post(f"/api/v1/api-keys/{created['id']}/revoke")

    events = AuditEvent.objects.filter(action__startswith="api_key.").order_by("id")
    assert [(e.action, e.actor_label) for e in events] == [
        ("api_key.created", "ada"),
        ("api_key.revoked", "ada"),
    ]
    assert created["key"] not in "".join(e.details_json for e in events)


def test_a_role_change_by_command_is_audited():
    call_command("create_user", "--username", "sam", "--role", "viewer")
    call_command("create_user", "--username", "sam", "--role", "operator")

    changed = AuditEvent.objects.get(action="user.role_changed")
    assert "user.created" in _actions()
    assert '"from":"viewer"' in changed.details_json and '"to":"operator"' in changed.details_json


def test_every_admin_change_is_audited(admin_client, viewer):
    operators = Group.objects.get(name="operator")
    form = {
        "username": "vera",
        "email": "vera@example.com",
        "is_active": "on",
        "groups": [operators.pk],
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
    }

    response = admin_client.post(f"/admin/auth/user/{viewer.pk}/change/", form)

    event = AuditEvent.objects.get(action="admin.change")
    assert response.status_code == 302
    assert event.target == f"auth.user:{viewer.pk}" and event.actor_label == "ada"
    assert "Groups" in event.details_json or "groups" in event.details_json
    assert list(
        get_user_model().objects.get(pk=viewer.pk).groups.values_list("name", flat=True)
    ) == ["operator"]


def test_a_key_created_in_the_admin_is_audited_once_by_the_service_and_once_as_an_admin_add(
    admin_client,
):
    admin_client.post("/admin/accounts/apikey/add/", {"name": "adm", "scopes": ["read"]})

    key = ApiKey.objects.get(name="adm")
    assert (
        AuditEvent.objects.filter(action="api_key.created", target=f"api_key:{key.prefix}").count()
        == 1
    )
    assert (
        AuditEvent.objects.filter(action="admin.add", target=f"accounts.apikey:{key.pk}").count()
        == 1
    )
