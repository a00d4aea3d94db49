"""The performance page in headless Chromium: explorer, percentiles, resources, projection."""

import re

import pytest
from playwright.sync_api import expect

from tests.dashboards.support import chart_drawn, no_horizontal_overflow, screenshot
from tests.dashboards.test_metrics_page import seed_metrics

pytestmark = pytest.mark.browser


def test_a_viewer_explores_a_histogram_and_sees_the_projection(signed_in):
    seed_metrics(minutes=5)
    page = signed_in("viewer")

    page.goto("/ui/metrics/?name=request_seconds&agg=p90&range=1h")

    for chart in (
        "metric-chart",
        "percentile-chart",
        "cpu-trend",
        "disk-trend",
        "projection-chart",
    ):
        assert chart_drawn(page, chart) > 0, chart
    expect(page.locator("#projection-answer time")).to_have_count(1)
    expect(page.locator("#percentile-chart .u-legend")).to_contain_text("p99")
    expect(page.locator("button[data-api]")).to_have_count(0)  # nothing to operate here
    assert no_horizontal_overflow(page)
    screenshot(page, "metrics")


def test_the_form_is_keyboard_driven_and_its_state_is_the_url(signed_in):
    seed_metrics(minutes=2)
    page = signed_in("viewer")
    page.goto("/ui/metrics/")

    page.get_by_label("Aggregation").select_option("max")
    page.get_by_label("Labels").fill("route=/r0")
    page.get_by_label("Group by label").focus()
    page.keyboard.type("route")
    page.keyboard.press("Enter")

    expect(page).to_have_url(re.compile(r"labels=route%3D%2Fr0&agg=max&.*group_by=route"))
    expect(page.get_by_label("Aggregation")).to_have_value("max")
    assert chart_drawn(page, "metric-chart") > 0


def test_the_empty_page_shows_what_to_send(signed_in):
    page = signed_in("viewer")

    page.goto("/ui/metrics/")

    expect(page.locator('[data-empty="metrics"]')).to_be_visible()
    expect(page.locator("#projection-answer")).to_contain_text("no data")
    screenshot(page, "metrics-empty")
