"""The test-runs pages in headless Chromium: the success-rate trend, figures, one run."""

import re

import pytest
from playwright.sync_api import expect

from tests.dashboards.support import chart_drawn, no_horizontal_overflow, screenshot
from tests.dashboards.test_testruns import seed_suite

pytestmark = pytest.mark.browser


def test_viewer_follows_suite_trends_and_opens_a_run(signed_in):
    seed_suite("shop")
    seed_suite("billing", runs=4, slow_last=False)
    page = signed_in("viewer")

    page.goto("/ui/testruns/")

    assert chart_drawn(page, "testrun-rates") > 0
    expect(page.locator("[aria-labelledby=latest-heading] tbody tr")).to_have_count(2)
    expect(page.locator("[data-api]")).to_have_count(0)
    screenshot(page, "testruns")
    assert no_horizontal_overflow(page)

    page.get_by_label("Suite", exact=True).select_option("shop")
    page.get_by_role("button", name="Show").press("Enter")
    expect(page).to_have_url(re.compile(r"\?suite=shop$"))
    assert chart_drawn(page, "testrun-rates") > 0
    expect(page.locator("[aria-labelledby=recent-heading] tbody tr")).to_have_count(6)

    page.get_by_role("link", name="shop-5").first.click()
    expect(page.get_by_role("heading", name="shop · run shop-5")).to_be_visible()
    failure = page.locator(".failure summary")
    expect(failure).to_contain_text("tests.test_shop::test_cart")
    screenshot(page, "testruns-run")
    assert no_horizontal_overflow(page)


def test_an_empty_testruns_page_shows_what_to_send(signed_in):
    page = signed_in("viewer")

    page.goto("/ui/testruns/")

    expect(page.locator('[data-empty="testruns"]')).to_contain_text("/api/v1/ingest/test-runs")
    screenshot(page, "testruns-empty")
    assert no_horizontal_overflow(page)
