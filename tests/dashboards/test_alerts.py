"""The alerts pages in a real Chromium: active alerts, history, silences, the delivery ledger,
what a viewer and an operator may do."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from apps.alerts import delivery, engine, notify, services
from apps.alerts.models import Alert, Delivery, NotificationGroup
from apps.audit.services import SYSTEM
from tests.alerts.factories import ChannelFactory, RuleFactory, cpu
from tests.dashboards.support import chart_drawn, no_horizontal_overflow, screenshot

pytestmark = pytest.mark.browser


def seed_alerts(*, firing: int, resolved: int = 0) -> list[Alert]:
    """Fire `firing` + `resolved` CPU alerts (one per host), resolve the last `resolved` of
    them, deliver each group's notification once to a channel nobody answers (a dead delivery
    with its attempt in the ledger). Returns the alerts, oldest first."""
    RuleFactory(channels=[ChannelFactory()])
    for host in range(firing + resolved):
        cpu(97, host=f"h{host}")
    now = timezone.now()
    engine.rules_evaluate(now=now)
    for group in NotificationGroup.objects.all():
        notify.flush(group_id=group.pk, now=now + timedelta(seconds=2))
    for pending in Delivery.objects.all():
        delivery.delivery_attempt(delivery_id=pending.pk, now=now, retry=False)
    alerts = list(Alert.objects.order_by("id"))
    for alert in alerts[firing:]:
        services.alert_resolve(alert=alert, actor=SYSTEM, reason="cooled down")
    return alerts


def test_it_shows_active_alerts_history_and_the_timeline(signed_in):
    seed_alerts(firing=2, resolved=1)
    page = signed_in("viewer")

    page.goto("/ui/alerts/")

    expect(page.get_by_role("heading", name="Alerts", exact=True)).to_be_visible()
    active = page.locator("#alerts-live table tbody tr")
    expect(active).to_have_count(2)
    expect(active.first.locator(".badge-firing")).to_have_text("firing")
    history = page.locator("section", has=page.get_by_role("heading", name="History"))
    expect(history.locator("tbody tr")).to_have_count(1)
    assert chart_drawn(page, "alerts-timeline") > 0
    assert no_horizontal_overflow(page)
    screenshot(page, "alerts")


def test_the_detail_page_shows_transitions_and_the_delivery_ledger(signed_in):
    alert = seed_alerts(firing=1)[0]
    page = signed_in("viewer")

    page.goto(f"/ui/alerts/{alert.pk}/")

    expect(page.get_by_role("heading", name=f"Alert #{alert.pk}")).to_be_visible()
    ledger = page.locator("section", has=page.get_by_role("heading", name="Delivery ledger"))
    expect(ledger.locator("tbody tr")).to_have_count(1)
    expect(ledger.locator("tbody tr .badge")).to_have_text("dead")
    expect(ledger.locator(".attempts li")).to_have_count(1)
    transitions = page.locator("section", has=page.get_by_role("heading", name="State changes"))
    expect(transitions.locator("tbody tr")).to_have_count(2)  # pending, firing
    assert no_horizontal_overflow(page)
    screenshot(page, "alert-detail")


def test_an_empty_alerts_page_says_how_to_get_alerts(signed_in):
    page = signed_in("viewer")

    page.goto("/ui/alerts/")

    expect(page.locator("[data-empty=alerts]")).to_be_visible()
    expect(page.locator("#alerts-timeline [data-chart]")).to_have_attribute("data-drawn", "empty")
    assert no_horizontal_overflow(page)
    screenshot(page, "alerts-empty")


def test_a_viewer_sees_no_actions_and_the_api_refuses_its_acknowledge(signed_in):
    alert = seed_alerts(firing=1)[0]
    page = signed_in("viewer")
    page.goto("/ui/alerts/")
    expect(page.locator(f"#alert-{alert.pk}")).to_be_visible()

    expect(page.get_by_role("button", name="Acknowledge")).to_have_count(0)
    expect(page.get_by_role("button", name="Resolve")).to_have_count(0)
    expect(page.locator("#silence-form")).to_have_count(0)
    answer = page.evaluate(
        """(url) => fetch(url, {method: "POST", credentials: "same-origin",
             headers: {"Content-Type": "application/json", "X-CSRFToken":
               (document.cookie.match(/csrftoken=([^;]+)/) || [])[1] || ""}, body: "{}"})
           .then(r => r.json().then(body => ({status: r.status, body})))""",
        f"/api/v1/alerts/{alert.pk}/acknowledge",
    )

    assert answer["status"] == 403
    assert answer["body"]["error"]["code"] == "permission_denied"
    assert answer["body"]["error"]["message"]
    alert.refresh_from_db()
    assert alert.state == "firing"


def test_an_operator_acknowledges_an_alert_and_the_page_shows_it(signed_in):
    alert = seed_alerts(firing=1)[0]
    page = signed_in("operator")
    page.goto("/ui/alerts/")
    row = page.locator(f"#alert-{alert.pk}")

    row.get_by_role("button", name="Acknowledge").click()

    expect(page.locator("#action-status")).to_have_text(f"Alert #{alert.pk} acknowledged")
    expect(row.locator(".badge-acknowledged")).to_have_text("acknowledged")
    expect(row.get_by_role("button", name="Acknowledge")).to_have_count(0)
    expect(row).to_contain_text("ack by operator-user")
    alert.refresh_from_db()
    assert alert.state == "acknowledged"


def test_an_operator_silences_by_label_and_expires_the_silence(signed_in):
    page = signed_in("operator")
    page.goto("/ui/alerts/")

    page.get_by_label("Label").fill("host")
    page.get_by_label("Value").fill("h7")
    page.get_by_label("Comment").fill("maintenance")
    page.get_by_role("button", name="Silence", exact=True).click()

    expect(page.locator("#action-status")).to_have_text("Silence created")
    silences = page.locator("#silences-live tbody tr")
    expect(silences).to_have_count(1)
    expect(silences.first).to_contain_text('host="h7"')
    expect(silences.first).to_contain_text("maintenance")

    silences.first.get_by_role("button", name="Expire").click()

    expect(page.locator("#silences-live tbody tr")).to_have_count(0)


def test_an_operator_acknowledges_with_the_keyboard_alone(signed_in):
    alert = seed_alerts(firing=1)[0]
    page = signed_in("operator")
    page.goto("/ui/alerts/")
    expect(page.locator(f"#alert-{alert.pk}")).to_be_visible()

    for _ in range(40):  # Tab through the header and the table to the button
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent.trim()") == "Acknowledge":
            break
    page.keyboard.press("Enter")

    expect(page.locator("#action-status")).to_have_text(f"Alert #{alert.pk} acknowledged")
    expect(page.locator(f"#alert-{alert.pk} .badge-acknowledged")).to_be_visible()
