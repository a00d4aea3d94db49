"""The security read API and triage: filters, roles and scopes, audit."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.security.constants import KeyType, Severity, ThreatStatus
from apps.security.models import BlockListEntry, ThreatEvent
from tests.conftest import key_client
from tests.security.factories import T0, SecurityEventFactory, ThreatFactory

pytestmark = pytest.mark.django_db

EVENTS = "/api/v1/security/events"
THREATS = "/api/v1/security/threats"
BLOCKLIST = "/api/v1/security/blocklist"


def _ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["results"]]


def test_events_are_listed_newest_first_with_their_scores(viewer_client):
    old = SecurityEventFactory(at_s=0)
    new = SecurityEventFactory(
        at_s=10,
        severity=Severity.HIGH,
        threat_score=0.8,
        detections=[{"detector": "brute_force", "score": 0.8, "reason": "x", "kind": "bf"}],
    )

    body = viewer_client.get(f"{EVENTS}?service=api").json()

    assert [item["id"] for item in body["results"]] == [new.pk, old.pk]
    assert body["results"][0]["severity"] == "high"
    assert body["results"][0]["threat_score"] == 0.8
    assert body["results"][0]["detections"][0]["detector"] == "brute_force"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("event_type=auth_failure", ["failure"]),
        ("user_id=bob", ["bob"]),
        ("source_ip=2001:db8::1", ["v6"]),
        ("min_severity=medium", ["failure", "bob"]),
        (f"start={(T0 + timedelta(seconds=5)).isoformat()}", ["bob", "v6"]),
        (f"end={T0.timestamp() + 1}", ["failure"]),
    ],
)
def test_events_are_filtered(viewer_client, query, expected):
    made = {
        "failure": SecurityEventFactory(event_type="auth_failure", severity=Severity.MEDIUM),
        "bob": SecurityEventFactory(user_id="bob", severity=Severity.HIGH, at_s=10),
        "v6": SecurityEventFactory(source_ip="2001:db8::1", at_s=20),
    }

    key, _, value = query.partition("=")
    found = _ids(viewer_client.get(EVENTS, {key: value, "service": "api"}))

    assert sorted(found) == sorted(made[name].pk for name in expected)


@pytest.mark.parametrize(
    "query", ["min_severity=urgent", "source_ip=300.1.1.1", "start=yesterday", "status=done"]
)
def test_bad_filters_are_a_400_naming_the_parameter(viewer_client, query):
    url = THREATS if query.startswith("status") else EVENTS

    response = viewer_client.get(f"{url}?{query}")

    assert response.status_code == 400
    assert query.split("=")[0] in response.json()["error"]["details"]


def test_threats_are_filtered_by_status_kind_and_severity(viewer_client):
    open_high = ThreatFactory(severity=Severity.HIGH, kind="sql_injection")
    ThreatFactory(severity=Severity.LOW)
    ThreatFactory(severity=Severity.HIGH, status=ThreatStatus.MITIGATED)

    found = _ids(viewer_client.get(f"{THREATS}?status=open&kind=sql_injection&min_severity=high"))

    assert found == [open_high.pk]


def _post(client, url: str, body: dict | None = None):
    return client.post(url, body or {}, content_type="application/json")


def _mitigate(client, threat):
    return _post(client, f"{THREATS}/{threat.pk}/mitigate", {"note": "blocked at the WAF"})


def test_viewers_may_not_triage(viewer_client):
    threat = ThreatFactory()

    assert _mitigate(viewer_client, threat).status_code == 403
    assert _post(viewer_client, f"{THREATS}/{threat.pk}/false-positive").status_code == 403


@pytest.mark.parametrize("role_client", ["operator_client", "admin_client"])
def test_operators_and_admins_mitigate_a_threat_and_it_is_audited(request, role_client):
    client = request.getfixturevalue(role_client)
    threat = ThreatFactory()
    event = SecurityEventFactory()
    ThreatEvent.objects.create(threat=threat, event=event)

    response = _mitigate(client, threat)

    audit = AuditEvent.objects.get(action="security.threat_mitigated")
    event.refresh_from_db()
    assert response.status_code == 200
    assert response.json()["status"] == "mitigated"
    assert event.mitigated
    assert audit.target == f"threat:{threat.pk}"
    assert "blocked at the WAF" in audit.details_json


def test_a_write_key_may_mark_a_false_positive_and_a_read_key_may_not(make_key):
    threat = ThreatFactory()
    reader, writer = key_client(make_key("read")), key_client(make_key("write"))

    denied = _post(reader, f"{THREATS}/{threat.pk}/false-positive")
    allowed = _post(writer, f"{THREATS}/{threat.pk}/false-positive")

    assert denied.status_code == 403
    assert allowed.status_code == 200
    assert allowed.json()["status"] == "false_positive"
    assert AuditEvent.objects.filter(action="security.threat_false_positive").count() == 1


def test_triage_of_a_missing_threat_is_a_404(operator_client):
    assert _post(operator_client, f"{THREATS}/999999/mitigate").status_code == 404


def test_the_block_list_shows_only_current_advice(viewer_client):
    now = timezone.now()
    current = BlockListEntry.objects.create(
        key_type=KeyType.IP,
        key="198.51.100.1",
        reason="r",
        created_at=now,
        expires_at=now + timedelta(hours=1),
    )
    BlockListEntry.objects.create(
        key_type=KeyType.IP,
        key="198.51.100.2",
        reason="r",
        created_at=now,
        expires_at=now - timedelta(seconds=1),
    )
    forever = BlockListEntry.objects.create(
        key_type=KeyType.USER, key="mallory", reason="r", created_at=now, expires_at=None
    )

    assert sorted(_ids(viewer_client.get(BLOCKLIST))) == sorted([current.pk, forever.pk])


def test_admins_add_and_remove_block_list_entries_audited(admin_client):
    added = admin_client.post(
        BLOCKLIST,
        {"key_type": "ip", "key": "2001:DB8::7", "reason": "scanner"},
        content_type="application/json",
    )
    entry_id = added.json()["id"]
    removed = admin_client.delete(f"{BLOCKLIST}/{entry_id}")

    actions = list(AuditEvent.objects.values_list("action", flat=True))
    assert added.status_code == 201
    assert added.json()["key"] == "2001:db8::7"
    assert added.json()["created_by"] == "ada"
    assert removed.status_code == 204
    assert not BlockListEntry.objects.exists()
    assert {"security.block_added", "security.block_removed"} <= set(actions)


def test_operators_may_not_edit_the_block_list(operator_client):
    entry = BlockListEntry.objects.create(
        key_type=KeyType.USER, key="mallory", reason="r", created_at=timezone.now()
    )
    added = operator_client.post(
        BLOCKLIST,
        {"key_type": "user", "key": "eve", "reason": "x"},
        content_type="application/json",
    )

    assert added.status_code == 403
    assert operator_client.delete(f"{BLOCKLIST}/{entry.pk}").status_code == 403


def test_a_block_list_entry_for_an_ip_must_be_an_ip(admin_client):
    response = admin_client.post(
        BLOCKLIST,
        {"key_type": "ip", "key": "mallory", "reason": "x"},
        content_type="application/json",
    )

    assert response.status_code == 400
    assert "key" in response.json()["error"]["details"]
