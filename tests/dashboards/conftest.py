"""Fixtures for the pages: a headless Debian Chromium (Playwright) and signed-in tabs per role
(helpers in support.py).

Playwright's sync API keeps its asyncio loop marked as running in the main thread for as long
as Playwright runs, so Django refuses ORM calls from the test thread (SynchronousOnlyOperation)
unless DJANGO_ALLOW_ASYNC_UNSAFE is set. The browser fixture therefore sets that variable only
while Playwright runs, and lives for one module: its teardown stops Playwright, so that tests
collected after the module see neither the variable nor a "running" event loop.
"""

from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.dashboards.support import DESKTOP, sign_in
from tests.factories import UserFactory

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


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One headless Chromium for a module's browser tests (see the module docstring)."""
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
    context = browser.new_context(base_url=live_server.url, viewport=DESKTOP)
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    tab = context.new_page()
    yield tab
    context.close()


@pytest.fixture
def signed_in(page: Page) -> Callable[[str], Page]:
    """Sign the tab in as a new user of `role` (viewer, operator, admin); returns the tab."""

    def as_role(role: str) -> Page:
        UserFactory(username=f"{role}-user", role=role)
        sign_in(page, f"{role}-user")
        expect(page.locator("#whoami")).to_have_text(f"{role}-user · {role}")
        return page

    return as_role
