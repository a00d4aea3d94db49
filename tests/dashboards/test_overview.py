"""The overview in a real Chromium: alerts, threats, components, ingest, each linking on."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from apps.health.services import component_state_record
from apps.logs.services import logs_write
from apps.security.constants import Severity
from tests.dashboards.support import chart_drawn, no_horizontal_overflow, screenshot
from tests.dashboards.test_alerts import seed_alerts
from tests.logs.factories import LogInFactory
from tests.security.factories import SecurityEventFactory, ThreatFactory

pytestmark = pytest.mark.browser


def seed_overview(*, items: int) -> None:
    """Firing alerts, open threats, two components, `items` log records and events just now."""
    now = timezone.now()
    seed_alerts(firing=2)
    ThreatFactory(severity=Severity.CRITICAL)
    ThreatFactory(severity=Severity.LOW)
    component_state_record(name="database", status="healthy", details={}, at=now)
    component_state_record(name="redis", status="degraded", details={"memory_mb": 2000}, at=now)
    now_ns = int(now.timestamp() * 1e9)
    logs_write(logs=[LogInFactory(ts_ns=now_ns - n * 10**9) for n in range(items)])
    for _ in range(items):
        SecurityEventFactory(timestamp=now)


def test_it_shows_alerts_threats_components_and_ingest_with_links(signed_in):
    seed_overview(items=5)
    page = signed_in("viewer")

    page.goto("/ui/")

    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    alerts = page.locator("#overview-alerts")
    expect(alerts.locator(".stat")).to_have_text("2")
    expect(alerts.get_by_role("link", name="Firing alerts")).to_have_attribute(
        "href", "/ui/alerts/"
    )
    threats = page.locator("#overview-threats")
    expect(threats.locator(".stat")).to_have_text("2")
    expect(threats.locator(".badge")).to_have_text(["critical", "low"])
    expect(threats.get_by_role("link")).to_have_attribute("href", "/ui/security/")
    components = page.locator("#overview-components")
    expect(components.locator("li")).to_have_count(2)
    expect(components.locator(".badge-degraded")).to_have_text("degraded")
    logs = page.locator("#overview-ingest tr", has=page.get_by_role("link", name="log records"))
    expect(logs.locator("td.num")).to_have_text(["5", "5"])
    expect(page.locator("[data-empty]")).to_have_count(0)
    assert chart_drawn(page, "overview-ingest-rates") > 0
    assert no_horizontal_overflow(page)
    screenshot(page, "overview")


def test_an_empty_overview_says_what_to_send(signed_in):
    page = signed_in("viewer")

    page.goto("/ui/")

    expect(page.locator("#overview-alerts .stat")).to_have_text("0")
    expect(page.locator("#overview-threats .stat")).to_have_text("0")
    expect(page.locator("[data-empty=metrics]")).to_be_visible()
    assert no_horizontal_overflow(page)
    screenshot(page, "overview-empty")
