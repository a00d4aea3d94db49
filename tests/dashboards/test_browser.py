"""Sign-in, sign-out and the admin pages, driven through a real headless Chromium."""

import re

import pytest
from playwright.sync_api import expect

from tests.dashboards.support import sign_in as _sign_in
from tests.dashboards.support import url_path as _path
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.browser

LOGIN_ERROR = "Please enter a correct username and password."


def test_viewer_signs_in_sees_name_and_role_and_signs_out(page):
    UserFactory(username="vera", role="viewer")

    _sign_in(page, "vera", PASSWORD)

    expect(page).to_have_url(_path("/ui/"))
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    expect(page.locator("#whoami")).to_have_text("vera · viewer")
    expect(page.locator("header").get_by_role("link", name="Admin", exact=True)).to_have_count(0)

    page.get_by_role("button", name="Sign out").click()

    # The signed-out page (templates/registration/logged_out.html).
    expect(page.get_by_role("heading", name="Signed out")).to_be_visible()
    expect(page.locator("#whoami")).to_have_count(0)
    # The session is really gone: the dashboards send the browser back to the login page.
    page.goto("/ui/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/ui/$"))


def test_wrong_password_shows_an_error_and_stays_on_the_login_page(page):
    UserFactory(username="vera", role="viewer")

    _sign_in(page, "vera", PASSWORD + " but wrong")

    expect(page.get_by_role("alert")).to_have_text(LOGIN_ERROR)
    expect(page).to_have_url(_path("/accounts/login/"))
    expect(page.locator("#whoami")).to_have_count(0)
    expect(page.locator("#id_password")).to_be_visible()


def test_admin_opens_the_admin_site_and_sees_the_intact_audit_log(page):
    UserFactory(username="ada", role="admin")

    _sign_in(page, "ada", PASSWORD)

    expect(page).to_have_url(_path("/ui/"))
    expect(page.locator("#whoami")).to_have_text("ada · admin")
    admin_link = page.locator("header").get_by_role("link", name="Admin", exact=True)
    expect(admin_link).to_be_visible()

    admin_link.click()

    expect(page).to_have_url(_path("/admin/"))
    expect(page.locator("#site-name")).to_have_text("aivmon administration")

    page.goto("/ui/")

    audit_card = page.locator(".card").filter(
        has=page.get_by_role("heading", name="Audit log", exact=True)
    )
    expect(audit_card).to_have_count(1)
    expect(audit_card.locator(".ok")).to_have_text("intact")
