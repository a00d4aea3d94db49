"""The performance page and its chart endpoints, through the Django test client."""

import time

import pytest

from apps.metrics.services import points_write
from tests.dashboards.support import queries_for
from tests.metrics.factories import gauge, point

pytestmark = pytest.mark.django_db
URL = "/ui/metrics/"


def seed_metrics(minutes: int = 5, series: int = 1) -> None:
    """Host utilisations rising each minute, and a histogram of request times, up to now."""
    now_ms = int(time.time() // 60 * 60_000)
    points = []
    for minute in range(minutes):
        ts_ms = now_ms - (minutes - 1 - minute) * 60_000
        labels = {"system.filesystem.mountpoint": "/", "host.name": "h"}
        points += [
            gauge(
                "system.filesystem.utilization",
                0.5 + minute / 1000,
                service="aivmon",
                labels=labels,
                ts_ms=ts_ms,
            ),
            gauge("system.memory.utilization", 0.3, service="aivmon", ts_ms=ts_ms),
            gauge(
                "system.cpu.utilization",
                0.2,
                service="aivmon",
                labels={"cpu": "total"},
                ts_ms=ts_ms,
            ),
        ]
        for n in range(series):
            points += [
                point(
                    "request_seconds",
                    0.01 * (k + 1),
                    type="histogram",
                    labels={"route": f"/r{n}"},
                    ts_ms=ts_ms + k,
                )
                for k in range(10)
            ]
    points_write(points=points)


def test_it_shows_the_explorer_and_a_projection(viewer_client):
    seed_metrics()

    page = viewer_client.get(URL + "?name=request_seconds&agg=p90&range=6h").content.decode()

    assert 'id="metric-chart"' in page
    assert "name=request_seconds&amp;agg=p90" in page
    assert 'id="percentile-chart"' in page  # a histogram: p50, p90 and p99 together
    assert 'id="projection-chart"' in page
    assert '<p class="stat" id="projection-answer">\n      <time' in page  # 0.1 point a minute
    assert 'data-empty="metrics"' not in page


def test_labels_of_the_form_and_of_the_url_reach_the_chart(viewer_client):
    seed_metrics()

    page = viewer_client.get(
        URL + "?name=request_seconds&labels=route%3D/r0&label.env=prod&group_by=route"
    ).content.decode()

    assert "label.env=prod&amp;label.route=%2Fr0" in page
    assert "group_by=route" in page


def test_without_metrics_it_says_what_to_send(viewer_client):
    page = viewer_client.get(URL).content.decode()

    assert 'data-empty="metrics"' in page
    assert "/api/v1/ingest/metrics" in page
    assert "no data" in page  # the projection has nothing to fit


def test_its_query_count_does_not_grow_with_the_data(viewer_client):
    seed_metrics(minutes=2, series=1)
    few = queries_for(viewer_client, URL + "?name=request_seconds")
    seed_metrics(minutes=30, series=20)
    many = queries_for(viewer_client, URL + "?name=request_seconds")

    assert few == many <= 8


def test_percentiles_come_together_as_lines(viewer_client):
    seed_metrics(minutes=1)
    now = time.time()

    answer = viewer_client.get(
        "/api/v1/dashboards/metrics/percentiles",
        {"name": "request_seconds", "start": now - 600, "end": now + 60, "step": 600},
    ).json()

    labels = [line["label"] for line in answer["lines"]]
    assert labels == ["p50", "p90", "p99"]
    values = [line["points"][0][1] for line in answer["lines"]]
    assert values == pytest.approx([0.055, 0.091, 0.0991])


def test_the_projection_endpoint_answers_lines_and_the_date(viewer_client):
    seed_metrics(minutes=10)

    answer = viewer_client.get(
        "/api/v1/dashboards/metrics/projection", {"resource": "disk", "threshold": "51"}
    ).json()

    assert answer["status"] == "projected"
    assert [line["label"] for line in answer["lines"]] == ["used %", "trend %", "threshold %"]
    # 0.1 point a minute from 50.9 %: 51 % within a couple of minutes of now.
    assert answer["reaches_at"] == pytest.approx(time.time() + 60, abs=180)


def test_bad_parameters_are_a_400_naming_them(viewer_client):
    answers = [
        viewer_client.get("/api/v1/dashboards/metrics/projection", {"threshold": "x"}),
        viewer_client.get("/api/v1/dashboards/metrics/projection", {"resource": "gpu"}),
        viewer_client.get("/api/v1/dashboards/metrics/percentiles", {"step": "1"}),
    ]

    assert [a.status_code for a in answers] == [400, 400, 400]
    assert [sorted(a.json()["error"]["details"]) for a in answers] == [
        ["threshold"],
        ["resource"],
        ["name"],
    ]


def test_the_chart_endpoints_need_a_signed_in_user(client):
    answer = client.get("/api/v1/dashboards/metrics/projection")

    assert answer.status_code in (401, 403)
