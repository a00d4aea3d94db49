"""The security admin pages: events read-only, threat triage actions, thresholds editable."""

import pytest

from apps.audit.models import AuditEvent
from apps.security.constants import Severity, ThreatStatus
from apps.security.models import SeverityThresholds
from apps.security.scoring import severity_of
from tests.security.factories import SecurityEventFactory, ThreatFactory

pytestmark = pytest.mark.django_db


def test_admins_see_events_but_cannot_change_them(admin_client):
    event = SecurityEventFactory()

    listing = admin_client.get("/admin/security/securityevent/")
    change = admin_client.post(f"/admin/security/securityevent/{event.pk}/change/", {})

    assert listing.status_code == 200
    assert change.status_code == 403


def test_admins_triage_threats_with_an_admin_action(admin_client):
    threat = ThreatFactory()

    response = admin_client.post(
        "/admin/security/threat/",
        {"action": "mark_false_positive", "_selected_action": [threat.pk]},
    )

    threat.refresh_from_db()
    assert response.status_code == 302
    assert threat.status == ThreatStatus.FALSE_POSITIVE
    assert AuditEvent.objects.filter(action="security.threat_false_positive").exists()


def test_admins_edit_the_severity_thresholds_and_scoring_follows(admin_client):
    row = SeverityThresholds.objects.get()

    response = admin_client.post(
        f"/admin/security/severitythresholds/{row.pk}/change/",
        {"low": 0.2, "medium": 0.4, "high": 0.6, "critical": 0.8},
    )

    assert response.status_code == 302
    assert severity_of(0.65) == Severity.HIGH
