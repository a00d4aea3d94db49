"""Sign-in, sign-out and the admin pages, driven through a real headless Chromium.

Playwright's sync API keeps its asyncio loop marked as running in the main thread for as long
as Playwright runs, so Django refuses ORM calls from the test thread (SynchronousOnlyOperation)
unless DJANGO_ALLOW_ASYNC_UNSAFE is set. The browser fixture therefore sets that variable only
while Playwright runs, and lives for this module only: its teardown stops Playwright, so that
tests collected after this module see neither the variable nor a "running" event loop.
"""

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
TIMEOUT_MS = 10_000
LOGIN_ERROR = "Please enter a correct username and password."


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the browser tests (module scope: see the module docstring)."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            yield chromium
            chromium.close()


@pytest.fixture
def page(browser: Browser, live_server, transactional_db) -> Iterator[Page]:
    """A fresh browser context (no cookies) per test, aimed at the live server."""
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    tab = context.new_page()
    yield tab
    context.close()


def _path(path: str) -> re.Pattern:
    """Match a page URL by its path (any host and port, no query string)."""
    return re.compile(rf"^https?://[^/]+{re.escape(path)}$")


def _sign_in(page: Page, username: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(password)
    page.get_by_role("button", name="Sign in").click()


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
