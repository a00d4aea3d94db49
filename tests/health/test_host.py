import time

import pytest

from apps.health import tasks
from tests.metrics.factories import stored_count

pytestmark = pytest.mark.django_db
QUERY_URL = "/api/v1/metrics/query"


@pytest.fixture
def sampled() -> int:
    ts_ms = int(time.time() * 1000)
    tasks.sample_host(ts_ms - 15_000)
    tasks.sample_host(ts_ms)
    return ts_ms


def query(client, name: str, **params) -> list[dict]:
    now = time.time()
    response = client.get(
        QUERY_URL, {"name": name, "start": now - 120, "end": now + 60, "step": 60, **params}
    )
    assert response.status_code == 200, response.content
    return response.json()["series"]


def test_the_sampler_writes_cpu_utilisation_the_query_api_returns(viewer_client, sampled):
    series = query(
        viewer_client, "system.cpu.utilization", service="aivmon", **{"label.cpu": "total"}
    )

    assert len(series) == 1
    assert series[0]["labels"]["host.name"]
    assert all(0 <= value <= 1 for _t, value in series[0]["points"])


@pytest.mark.parametrize(
    "name",
    [
        "system.cpu.load_average.1m",
        "system.memory.usage",
        "system.memory.utilization",
        "system.paging.usage",
        "system.filesystem.usage",
        "system.network.io",
        "system.network.errors",
        "system.process.count",
        "process.memory.usage",
    ],
)
def test_the_sampler_writes_each_figure(viewer_client, sampled, name):
    assert query(viewer_client, name)


def test_network_throughput_comes_from_counters_through_rate(viewer_client, sampled):
    series = query(viewer_client, "system.network.io", agg="rate", **{"label.system.device": "lo"})

    assert series
    assert all(value >= 0 for one in series for _t, value in one["points"])


def test_the_same_sample_time_is_stored_once(sampled):
    before = stored_count()  # the point head and the points table: compaction may move any
    tasks.sample_host(sampled)

    assert stored_count() == before


def test_the_host_api_answers_the_latest_figures_with_rates(viewer_client, sampled):
    body = viewer_client.get("/api/v1/health/host").json()

    assert body["host"]
    assert body["sampled_at"].endswith("Z")
    assert 0 <= body["gauges"]["system.memory.utilization"] <= 1
    assert any(key.startswith("system.network.io{") for key in body["rates"])


def test_the_host_api_samples_now_when_nothing_was_sampled(viewer_client):
    body = viewer_client.get("/api/v1/health/host").json()

    assert "system.memory.utilization" in body["gauges"]
    assert body["rates"] == {}


def test_anonymous_requests_are_refused(client):
    assert client.get("/api/v1/health/host").status_code in {401, 403}
