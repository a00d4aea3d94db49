"""The logs page in headless Chromium: search, the severity chart, the live tail, trace links."""

import re

import pytest
from playwright.sync_api import expect

from tests.dashboards.support import chart_drawn, no_horizontal_overflow, screenshot
from tests.dashboards.test_logs import seed_logs
from tests.dashboards.test_traces import seed_trace
from tests.traces.factories import trace_id

pytestmark = pytest.mark.browser

TAIL_WAIT_MS = 9_000  # the tail asks every 3 s; a slow shared machine gets three chances


def test_viewer_searches_logs_tails_new_records_and_follows_a_trace(signed_in):
    seed_trace(5)
    seed_logs("GET /orders served", "cache warmed", ago_s=900)
    seed_logs("disk almost full", severity="WARN", ago_s=600)
    seed_logs("payment declined", severity="ERROR", ago_s=300, trace_id=trace_id(5))
    page = signed_in("viewer")

    page.goto("/ui/logs/")

    assert chart_drawn(page, "log-severities") > 0
    rows = page.locator("#log-rows tr")
    expect(rows).to_have_count(4)
    expect(page.locator("[data-api]")).to_have_count(0)
    screenshot(page, "logs")
    assert no_horizontal_overflow(page)

    page.get_by_label("Words").fill("payment")
    page.get_by_label("Min severity").select_option("WARN")
    page.get_by_label("Words").press("Enter")
    expect(page).to_have_url(re.compile(r"q=payment&.*min_severity=WARN"))
    expect(rows).to_have_count(1)

    tail = page.get_by_role("button", name="Tail")
    tail.focus()
    page.keyboard.press("Enter")
    expect(tail).to_have_attribute("aria-pressed", "true")
    seed_logs("payment retried", severity="ERROR", ago_s=0)
    seed_logs("payment noise", severity="DEBUG", ago_s=0)
    expect(rows.first).to_contain_text("payment retried", timeout=TAIL_WAIT_MS)
    expect(rows).to_have_count(2)

    page.get_by_role("link", name=re.compile("^trace ")).last.click()
    expect(page).to_have_url(re.compile(rf"/ui/traces/{trace_id(5)}/$"))


def test_an_empty_logs_page_shows_what_to_send(signed_in):
    page = signed_in("viewer")

    page.goto("/ui/logs/")

    expect(page.locator('[data-empty="logs"]')).to_contain_text("/api/v1/ingest/logs")
    screenshot(page, "logs-empty")
    assert no_horizontal_overflow(page)
