"""Viewer, operator and admin in a real Chromium: every page in the navigation opens for each;
only admins are offered (and let into) the admin site; operator actions by role."""

import pytest
from playwright.sync_api import expect

from tests.dashboards.test_alerts import seed_alerts
from tests.dashboards.test_security import seed_security

pytestmark = pytest.mark.browser

ROLES = ["viewer", "operator", "admin"]
MAY_OPERATE = {"viewer": 0, "operator": 1, "admin": 1}


@pytest.mark.parametrize("role", ROLES)
def test_each_role_opens_every_page_and_only_admins_get_the_admin_site(signed_in, role):
    page = signed_in(role)
    nav = page.get_by_role("navigation", name="Pages")
    pages = [
        href
        for href in nav.locator("a").evaluate_all("links => links.map(a => a.pathname)")
        if href.startswith("/ui/")
    ]
    assert {"/ui/", "/ui/security/", "/ui/alerts/"} <= set(pages)

    for path in pages:
        answer = page.goto(path)
        assert answer is not None and answer.status == 200, (path, answer and answer.status)
        expect(page.locator("main h1")).to_have_count(1)

    admin_link = page.locator("header").get_by_role("link", name="Admin", exact=True)
    expect(admin_link).to_have_count(1 if role == "admin" else 0)
    answer = page.goto("/admin/")
    assert answer is not None and answer.status == (200 if role == "admin" else 403)


@pytest.mark.parametrize("role", ROLES)
def test_operator_actions_are_offered_by_role(signed_in, role):
    seed_alerts(firing=1)
    seed_security(events=1)
    page = signed_in(role)

    page.goto("/ui/alerts/")
    expect(page.locator("#alerts-live tbody tr")).to_have_count(1)
    expect(page.get_by_role("button", name="Acknowledge")).to_have_count(MAY_OPERATE[role])
    expect(page.locator("#silence-form")).to_have_count(MAY_OPERATE[role])

    page.goto("/ui/security/")
    expect(page.locator("[id^=threat-]")).to_have_count(2)
    expect(page.get_by_role("button", name="Mitigate")).to_have_count(2 * MAY_OPERATE[role])
