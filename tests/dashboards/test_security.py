"""The security page in a real Chromium: landscape, timeline, top sources, detectors, block
list, and triage for operators only."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from apps.audit.services import SYSTEM
from apps.security import services
from apps.security.constants import KeyType, Severity, ThreatStatus
from apps.security.models import Threat
from tests.dashboards.support import chart_drawn, no_horizontal_overflow, screenshot
from tests.security.factories import SecurityEventFactory, ThreatFactory

pytestmark = pytest.mark.browser


def seed_security(*, events: int) -> list[Threat]:
    """`events` scored events over the last half hour from a few IPs and users, two open
    threats (one high brute force, one medium SQL injection), one closed, one block."""
    now = timezone.now()
    for n in range(events):
        hot = n % 3 == 0
        SecurityEventFactory(
            timestamp=now - timedelta(minutes=n % 30),
            event_type="auth_failure" if hot else "request",
            source_ip=f"203.0.113.{n % 4}",
            user_id=f"user{n % 5}",
            severity=Severity.HIGH if hot else Severity.INFO,
            threat_score=0.8 if hot else 0.0,
            detections=[{"detector": "brute_force", "score": 0.8, "reason": "failed logins"}]
            if hot
            else [],
        )
    threats = [
        ThreatFactory(kind="brute_force", severity=Severity.HIGH, last_seen=now, count=9),
        ThreatFactory(kind="sql_injection", severity=Severity.MEDIUM, last_seen=now),
    ]
    ThreatFactory(kind="brute_force", status=ThreatStatus.MITIGATED)
    services.blocklist_add(
        key_type=KeyType.IP,
        key="203.0.113.0",
        reason="brute force",
        expires_at=now + timedelta(hours=1),
        user=None,
        actor=SYSTEM,
    )
    return threats


def test_it_shows_threats_the_timeline_sources_detectors_and_blocks(signed_in):
    seed_security(events=12)
    page = signed_in("viewer")

    page.goto("/ui/security/")

    expect(page.get_by_role("heading", name="Security", exact=True)).to_be_visible()
    landscape = page.locator("section", has=page.get_by_role("heading", name="Threat landscape"))
    expect(landscape.locator("tbody tr")).to_have_count(2)  # the mitigated one is not open
    expect(landscape).to_contain_text("2 open")
    threats = page.locator("section", has=page.get_by_role("heading", name="Open threats"))
    expect(threats.locator("tbody tr").first).to_contain_text("brute_force")  # worst first
    # Four seeded addresses (3 events each, ties by address) and the viewer's own sign-in.
    ips = page.locator("section", has=page.get_by_role("heading", name="Top source IPs"))
    expect(ips.locator("tbody tr")).to_have_count(5)
    expect(ips.locator("tbody tr").first.locator("td")).to_have_text(
        ["203.0.113.0", "3", "1", "high", re.compile(".+")]
    )
    users = page.locator("section", has=page.get_by_role("heading", name="Top users"))
    expect(users.locator("tbody tr").first.locator("td").first).to_have_text("user0")
    detectors = page.locator("section", has=page.get_by_role("heading", name="by detector"))
    expect(detectors.locator("tbody tr td").nth(0)).to_have_text("brute_force")
    expect(detectors.locator("tbody tr td").nth(1)).to_have_text("4")
    expect(detectors.locator("tbody tr td").nth(2)).to_have_text("0.80")
    blocks = page.locator("section", has=page.get_by_role("heading", name="Block list"))
    expect(blocks.locator("tbody tr")).to_contain_text(["ip: 203.0.113.0"])
    assert chart_drawn(page, "security-timeline") > 0
    assert no_horizontal_overflow(page)
    screenshot(page, "security")


def test_a_range_is_chosen_with_a_labelled_control(signed_in):
    seed_security(events=3)
    page = signed_in("viewer")
    page.goto("/ui/security/")

    page.get_by_label("Range").select_option("1h")
    page.get_by_role("button", name="Show").click()

    expect(page).to_have_url("/ui/security/?range=1h", timeout=5000)
    expect(page.locator("#security-timeline figcaption")).to_contain_text("last 1h")
    assert chart_drawn(page, "security-timeline") > 0


def test_an_empty_security_page_says_what_to_send(signed_in):
    page = signed_in("viewer")

    page.goto("/ui/security/")

    expect(page.locator("[data-empty=security]")).to_be_visible()
    assert no_horizontal_overflow(page)
    screenshot(page, "security-empty")


def test_a_viewer_sees_no_triage_buttons(signed_in):
    seed_security(events=1)
    page = signed_in("viewer")

    page.goto("/ui/security/")

    expect(page.locator("[id^=threat-]")).to_have_count(2)
    expect(page.get_by_role("button", name="Mitigate")).to_have_count(0)
    expect(page.get_by_role("button", name="False positive")).to_have_count(0)


def test_an_operator_triages_threats_from_the_page(signed_in):
    brute, sqli = seed_security(events=1)
    page = signed_in("operator")
    page.goto("/ui/security/")

    page.locator(f"#threat-{brute.pk}").get_by_role("button", name="Mitigate").click()
    expect(page.locator("#action-status")).to_have_text(f"Threat #{brute.pk} marked mitigated")
    expect(page.locator(f"#threat-{brute.pk}")).to_have_count(0)
    page.locator(f"#threat-{sqli.pk}").get_by_role("button", name="False positive").click()
    expect(page.locator(f"#threat-{sqli.pk}")).to_have_count(0)

    statuses = dict(Threat.objects.filter(pk__in=[brute.pk, sqli.pk]).values_list("pk", "status"))
    assert statuses == {brute.pk: "mitigated", sqli.pk: "false_positive"}
