"""Source IP filters match the canonical form ingest stores; a repeated triage changes nothing."""

import pytest

from apps.audit.models import AuditEvent
from apps.security.constants import KeyType, ThreatStatus
from apps.security.models import BlockListEntry
from tests.security.factories import SecurityEventFactory, ThreatFactory

pytestmark = pytest.mark.django_db

EVENTS = "/api/v1/security/events"
THREATS = "/api/v1/security/threats"
BLOCKLIST = "/api/v1/security/blocklist"


def test_an_ipv4_mapped_source_ip_filter_finds_events_stored_as_ipv4(viewer_client):
    stored = SecurityEventFactory(source_ip="203.0.113.7")
    SecurityEventFactory(source_ip="203.0.113.8")

    response = viewer_client.get(EVENTS, {"source_ip": "::ffff:203.0.113.7"})

    assert response.status_code == 200, response.content
    assert [item["id"] for item in response.json()["results"]] == [stored.pk]


def test_an_invalid_source_ip_filter_is_a_400_in_the_envelope(viewer_client):
    response = viewer_client.get(EVENTS, {"source_ip": "::ffff:203.0.113.300"})

    assert response.status_code == 400
    assert "source_ip" in response.json()["error"]["details"]


def test_an_ipv4_mapped_block_list_key_is_kept_as_ipv4(admin_client):
    added = admin_client.post(
        BLOCKLIST,
        {"key_type": "ip", "key": "::ffff:203.0.113.7", "reason": "scanner"},
        content_type="application/json",
    )

    assert added.status_code == 201, added.content
    assert added.json()["key"] == "203.0.113.7"


@pytest.mark.parametrize(
    ("action", "status", "audit_action"),
    [
        ("false-positive", ThreatStatus.FALSE_POSITIVE, "security.threat_false_positive"),
        ("mitigate", ThreatStatus.MITIGATED, "security.threat_mitigated"),
    ],
)
def test_repeating_a_triage_leaves_the_threat_and_the_audit_trail_unchanged(
    operator_client, action, status, audit_action
):
    threat = ThreatFactory()
    url = f"{THREATS}/{threat.pk}/{action}"
    first = operator_client.post(url, {"note": "first"}, content_type="application/json")

    again = operator_client.post(url, {"note": "again"}, content_type="application/json")

    assert first.status_code == 200, first.content
    assert again.status_code == 200, again.content
    assert again.json()["status"] == status
    assert again.json()["status_changed_at"] == first.json()["status_changed_at"]
    assert AuditEvent.objects.filter(action=audit_action).count() == 1


def test_the_admin_form_keeps_an_ipv4_mapped_block_list_key_as_ipv4():
    entry = BlockListEntry(key_type=KeyType.IP, key=" ::ffff:198.51.100.4 ", reason="admin")

    entry.clean()

    assert entry.key == "198.51.100.4"
