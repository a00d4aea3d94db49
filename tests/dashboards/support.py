"""Helpers for the page tests: sign in, screenshots at desktop and phone width, the canvas
check, the query count. Fixtures are in conftest.py."""

import re
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from playwright.sync_api import Page, expect

from tests.factories import PASSWORD

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 740}
# Screenshots are kept by the test run (not committed: var/ is ignored).
SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "test-output" / "screenshots"


def url_path(path: str) -> re.Pattern:
    """Match a page URL by its path (any host and port, no query string)."""
    return re.compile(rf"^https?://[^/]+{re.escape(path)}$")


def sign_in(page: Page, username: str, password: str = PASSWORD) -> None:
    page.goto("/accounts/login/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def screenshot(page: Page, name: str) -> list[Path]:
    """Save the page at desktop and phone width; return the files (checked non-empty)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    files = []
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        page.wait_for_timeout(400)  # let charts follow the resize
        target = SCREENSHOTS / f"{name}-{label}.png"
        page.screenshot(path=str(target), full_page=True)
        assert target.stat().st_size > 1000, target
        files.append(target)
    page.set_viewport_size(DESKTOP)
    return files


def no_horizontal_overflow(page: Page) -> bool:
    """At phone width the page itself must not scroll sideways (tables scroll in their box)."""
    page.set_viewport_size(PHONE)
    page.wait_for_timeout(150)
    fits = page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth + 1"
    )
    page.set_viewport_size(DESKTOP)
    return bool(fits)


CANVAS_INK_JS = """(selector) => {
  const canvas = document.querySelector(selector + ' canvas');
  if (!canvas || !canvas.width || !canvas.height) return 0;
  const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let inked = 0;
  for (let i = 3; i < pixels.length; i += 4) if (pixels[i] !== 0) inked++;
  return inked;
}"""


def chart_drawn(page: Page, chart_id: str) -> int:
    """Wait for the chart `#chart_id` to be drawn; return how many canvas pixels carry ink."""
    area = page.locator(f"#{chart_id} [data-chart]")
    expect(area).to_have_attribute("data-drawn", "1")
    return int(page.evaluate(CANVAS_INK_JS, f"#{chart_id}"))


def queries_for(client: Client, url: str) -> int:
    """How many SQL queries one GET of `url` issues (the answer must be 200)."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, response.status_code
    return len(captured.captured_queries)
