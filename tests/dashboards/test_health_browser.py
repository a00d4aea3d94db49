"""The system-health page in headless Chromium: host charts, components, code health."""

import re

import pytest
from playwright.sync_api import expect

from tests.dashboards.support import chart_drawn, no_horizontal_overflow, screenshot
from tests.dashboards.test_health_page import seed_components, seed_host, seed_scans

pytestmark = pytest.mark.browser


def test_a_viewer_sees_host_charts_components_and_code_health(signed_in, tmp_path):
    seed_host()
    seed_components(3)
    seed_scans(tmp_path)
    page = signed_in("viewer")

    page.goto("/ui/health/")

    for chart in ("host-cpu", "host-memory", "host-disk", "host-network", "code-trend"):
        assert chart_drawn(page, chart) > 0, chart
    expect(page.locator("#components")).to_contain_text("part2")
    expect(page.locator("#code-health")).to_contain_text("s.py:1")
    expect(page.locator("button[data-api]")).to_have_count(0)
    assert no_horizontal_overflow(page)
    screenshot(page, "health")


def test_the_range_is_chosen_from_the_keyboard(signed_in):
    seed_host(minutes=2)
    page = signed_in("viewer")
    page.goto("/ui/health/")

    page.get_by_role("combobox", name="Range").select_option("24h")
    page.get_by_role("button", name="Show").focus()
    page.keyboard.press("Enter")

    expect(page).to_have_url(re.compile(r"/ui/health/\?range=24h$"))
    expect(page.locator("#host-cpu [data-chart]")).to_have_attribute("data-range", "86400")
    assert chart_drawn(page, "host-cpu") > 0


def test_the_empty_page_says_what_to_run(signed_in):
    page = signed_in("viewer")

    page.goto("/ui/health/")

    expect(page.locator('[data-empty="health"]')).to_be_visible()
    expect(page.locator("#host-cpu .chart-empty")).to_have_text("No data in this range.")
    screenshot(page, "health-empty")
