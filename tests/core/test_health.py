import pytest
from django.core.cache import cache

from apps.core import services
from apps.core.redis import redis_client


def test_healthz_answers_ok_without_credentials(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_is_ready_when_database_and_redis_answer(client):
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json()["checks"] == {"database": {"ok": True}, "redis": {"ok": True}}


@pytest.mark.django_db
def test_readyz_names_redis_when_it_does_not_answer(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    redis_client.cache_clear()
    try:
        response = client.get("/readyz")
    finally:
        redis_client.cache_clear()

    assert response.status_code == 503
    assert response.json()["failed"] == ["redis"]
    assert response["Retry-After"] == "5"


@pytest.mark.django_db
def test_readyz_reports_the_worker_heartbeat(client):
    services.heartbeat_record(at=1_764_200_000.0)

    worker = client.get("/readyz").json()["worker"]

    assert worker["last_heartbeat"] == 1_764_200_000.0
    assert worker["age_s"] > 0


def test_a_late_older_heartbeat_does_not_move_it_backwards():
    services.heartbeat_record(at=2000.0)
    services.heartbeat_record(at=1000.0)

    assert float(redis_client().get("aivmon:worker:heartbeat")) == 2000.0


@pytest.mark.django_db
def test_metrics_exposes_request_counts_by_route_and_latency(client):
    client.get("/healthz")

    body = client.get("/metrics").content.decode()

    assert 'aivmon_http_requests_total{method="GET",route="/healthz",status="200"}' in body
    assert (
        'aivmon_http_request_duration_seconds_bucket{le="0.005",method="GET",route="/healthz"}'
        in body
    )
    assert "aivmon_worker_heartbeat_age_seconds" in body


@pytest.mark.django_db
def test_metrics_exposes_queue_depths(client):
    redis_client().lpush("alerts", "message-1", "message-2")

    body = client.get("/metrics").content.decode()

    assert 'aivmon_queue_depth{queue="alerts"} 2.0' in body


def test_the_cache_is_the_shared_redis():
    cache.set("probe", "value", 5)

    assert cache.get("probe") == "value"
