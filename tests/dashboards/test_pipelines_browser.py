"""The pipelines page in headless Chromium: runs, duration trend, model and P2P metrics."""

import re
import time

import pytest
from playwright.sync_api import expect

from apps.metrics.services import points_write
from tests.dashboards.support import chart_drawn, no_horizontal_overflow, screenshot
from tests.dashboards.test_pipelines_page import HOPS, seed_metrics, seed_runs
from tests.metrics.factories import gauge, histogram, point

pytestmark = pytest.mark.browser
HALF_HOUR_MS = 1_800_000


def seed_history(steps: int = 12) -> None:
    """Earlier points every half hour, so that the 24 h charts draw lines (counts cumulative)."""
    now_ms = int(time.time() * 1000)
    kind = {"message_type": "kind0"}
    points = []
    for i in range(1, steps):
        ts_ms = now_ms - 120_000 - i * HALF_HOUR_MS
        points += [
            gauge(
                "model_loss",
                0.5 + i / 20,
                service="forge",
                labels={"pipeline": "train", "run": "0"},
                ts_ms=ts_ms,
            ),
            point(
                "p2p_messages_total", float(steps - i), service="forge", labels=kind, ts_ms=ts_ms
            ),
            histogram(
                "p2p_routing_hops",
                bounds=HOPS,
                bucket_counts=[0, 1 if i < steps // 2 else 0, 1, 0, 0, 0, 0],
                service="forge",
                labels=kind,
                ts_ms=ts_ms,
            ),
        ]
    points_write(points=points)


def test_a_viewer_sees_runs_phases_trends_and_p2p(signed_in):
    seed_runs(4)
    seed_history()
    seed_metrics()
    page = signed_in("viewer")

    page.goto("/ui/pipelines/")

    for chart in (
        "run-durations",
        "model-metric-model_loss",
        "p2p-p2p_routing_hops",
        "p2p-p2p_messages_total",
    ):
        assert chart_drawn(page, chart) > 0, chart
    expect(page.locator("#pipeline-runs .badge-failed")).to_have_count(1)
    expect(page.locator("#hops-p2p_routing_hops tbody tr")).to_have_count(7)
    expect(page.locator("button[data-api]")).to_have_count(0)
    assert no_horizontal_overflow(page)
    screenshot(page, "pipelines")


def test_a_pipeline_is_chosen_from_the_keyboard(signed_in):
    seed_runs(4)
    page = signed_in("viewer")
    page.goto("/ui/pipelines/")

    page.get_by_role("combobox", name="Pipeline").select_option("evaluate")
    page.get_by_role("button", name="Show").focus()
    page.keyboard.press("Enter")

    expect(page).to_have_url(re.compile(r"pipeline=evaluate"))
    expect(page.locator("#pipeline-runs tbody tr")).to_have_count(2 + 2)  # phases + runs
    assert chart_drawn(page, "run-durations") > 0


def test_the_empty_page_shows_what_to_send(signed_in):
    page = signed_in("viewer")

    page.goto("/ui/pipelines/")

    expect(page.locator('[data-empty="pipelines"]')).to_be_visible()
    screenshot(page, "pipelines-empty")
