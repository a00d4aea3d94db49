"""The traces pages in headless Chromium: search, the duration chart, the waterfall."""

import re

import pytest
from playwright.sync_api import expect

from tests.dashboards.support import chart_drawn, no_horizontal_overflow, screenshot
from tests.dashboards.test_traces import seed_trace

pytestmark = pytest.mark.browser

LIVE_WAIT_MS = 16_000  # one 10 s refresh and a slow shared machine


def test_viewer_searches_traces_and_opens_a_waterfall(signed_in):
    for n in range(1, 6):
        seed_trace(n, ago_s=600 - n * 90, ms=40 * n, error=n == 4)
    page = signed_in("viewer")

    page.goto("/ui/traces/")

    assert chart_drawn(page, "trace-durations") > 0
    expect(page.locator("[aria-labelledby=results-heading] tbody tr")).to_have_count(5)
    expect(page.locator("[data-api]")).to_have_count(0)  # nothing to operate here
    screenshot(page, "traces")
    assert no_horizontal_overflow(page)

    # The results refresh themselves (every 10 s while Live is on).
    seed_trace(6, ago_s=5, ms=30)
    expect(page.locator("[aria-labelledby=results-heading] tbody tr")).to_have_count(
        6, timeout=LIVE_WAIT_MS
    )

    # Labelled controls, reachable with the keyboard, in order.
    page.get_by_label("Service").focus()
    page.keyboard.press("Tab")
    expect(page.get_by_label("Operation")).to_be_focused()
    page.get_by_label("Status").select_option("ERROR")
    page.get_by_label("Min duration (ms)").fill("100")
    page.get_by_label("Min duration (ms)").press("Enter")

    expect(page).to_have_url(re.compile(r"status=ERROR"))
    expect(page.locator("[aria-labelledby=results-heading] tbody tr")).to_have_count(1)
    page.get_by_role("link", name="GET /orders/4").click()

    expect(page.get_by_role("heading", name=re.compile("^Trace "))).to_be_visible()
    spans = page.locator(".waterfall > li")
    expect(spans).to_have_count(3)
    expect(page.locator(".waterfall > li.is-error")).to_have_count(1)
    attribute = page.get_by_text("postgresql", exact=True)
    expect(attribute).to_be_hidden()
    spans.nth(1).locator("summary").focus()
    page.keyboard.press("Enter")
    expect(attribute).to_be_visible()
    screenshot(page, "traces-waterfall")
    assert no_horizontal_overflow(page)

    page.get_by_role("link", name="Logs of this trace").click()
    expect(page).to_have_url(re.compile(r"/ui/logs/\?trace_id=0{31}4&range=all$"))


def test_an_empty_traces_page_shows_what_to_send(signed_in):
    page = signed_in("viewer")

    page.goto("/ui/traces/")

    expect(page.locator('[data-empty="traces"]')).to_contain_text("/api/v1/ingest/spans")
    screenshot(page, "traces-empty")
    assert no_horizontal_overflow(page)


def test_an_unknown_trace_shows_a_not_found_page(signed_in):
    page = signed_in("viewer")

    response = page.goto("/ui/traces/" + "f" * 32 + "/")

    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", name="Trace not found")).to_be_visible()
