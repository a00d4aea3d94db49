import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from apps.audit.models import AppendOnlyError, AuditEvent
from apps.audit.selectors import audit_chain_verify
from apps.audit.services import Actor, audit_record

pytestmark = pytest.mark.django_db


def _three_events() -> list[AuditEvent]:
    return [
        audit_record(
            action=f"test.event{i}",
            actor=Actor("user", "1", "ada"),
            target=f"thing:{i}",
            ip="2001:DB8::1",
            details={"n": i, "f": 0.1},
        )
        for i in range(3)
    ]


def test_events_link_into_a_chain_that_verifies():
    first, second, third = _three_events()

    assert second.prev_hash == first.hash and third.prev_hash == second.hash
    assert audit_chain_verify().intact and audit_chain_verify().checked == 3
    assert first.ip == "2001:db8::1"


def test_a_row_changed_in_the_database_is_detected_by_verify_audit():
    _, second, _ = _three_events()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE audit_auditevent SET target = %s WHERE id = %s", ["thing:forged", second.pk]
        )

    with pytest.raises(CommandError, match=f"BROKEN at event #{second.pk}"):
        call_command("verify_audit")


def test_a_row_removed_from_the_middle_is_detected():
    _, second, third = _three_events()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [second.pk])

    report = audit_chain_verify()

    assert not report.intact and report.first_broken_id == third.pk


def test_rows_cut_from_the_end_are_detected():
    _, second, third = _three_events()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [third.pk])

    report = audit_chain_verify()

    assert not report.intact and "removed" in report.reason


def test_verify_audit_says_intact_for_an_untouched_chain(capsys):
    _three_events()

    call_command("verify_audit")

    assert "audit chain intact: 3 events" in capsys.readouterr().out


def test_the_model_refuses_updates_and_deletes():
    event = _three_events()[0]
    event.target = "changed"

    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(target="changed")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()


def test_the_admin_shows_the_log_but_offers_no_change_or_delete(admin_client):
    event = _three_events()[0]

    change_page = admin_client.get(f"/admin/audit/auditevent/{event.pk}/change/")
    delete_page = admin_client.get(f"/admin/audit/auditevent/{event.pk}/delete/")
    post = admin_client.post(f"/admin/audit/auditevent/{event.pk}/change/", {"target": "x"})

    assert change_page.status_code == 200 and "Save" not in change_page.content.decode()
    assert delete_page.status_code == 403 and post.status_code == 403
    assert AuditEvent.objects.get(pk=event.pk).target == "thing:0"


def test_the_api_lists_newest_first_with_the_chain_check(admin_client):
    _three_events()

    body = admin_client.get("/api/v1/audit?limit=2").json()
    rest = admin_client.get(f"/api/v1/audit?limit=2&cursor={body['next']}").json()

    actions = [e["action"] for e in body["results"] + rest["results"]]
    assert actions[:2] == ["test.event2", "test.event1"] and "test.event0" in actions
    assert body["chain"]["intact"] is True
    assert body["results"][0]["details"] == {"f": 0.1, "n": 2}
    assert body["results"][0]["actor"] == {"kind": "user", "id": "1", "label": "ada"}


def test_the_api_reports_a_broken_chain(admin_client):
    _, second, _ = _three_events()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET details_json = '{}' WHERE id = %s", [second.pk])

    chain = admin_client.get("/api/v1/audit").json()["chain"]

    assert chain["intact"] is False and chain["first_broken_id"] == second.pk


def test_a_bad_cursor_is_a_400(admin_client):
    response = admin_client.get("/api/v1/audit?cursor=garbage")

    assert response.status_code == 400


@pytest.mark.parametrize("limit", ["0", "1001", "-1", "ten", "3³", "٣"])
def test_a_bad_limit_is_a_400(admin_client, limit):
    assert admin_client.get(f"/api/v1/audit?limit={limit}").status_code == 400
