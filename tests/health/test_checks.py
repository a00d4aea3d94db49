import time
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from apps.core.redis import redis_client
from apps.core.services import heartbeat_record
from apps.health import checks, services
from apps.health.models import ComponentState, ComponentTransition, HealthThresholds
from apps.health.selectors import thresholds_get
from apps.metrics.models import Series
from apps.metrics.services import PointIn, points_write

pytestmark = pytest.mark.django_db


@pytest.fixture
def limits() -> HealthThresholds:
    return thresholds_get()


def metric_point(service: str, at_s: float) -> None:
    """Write a point of the service, its series last seen at at_s."""
    points_write(points=[PointIn("requests", "counter", service, {}, int(at_s * 1000), value=1.0)])
    Series.objects.filter(service=service).update(last_seen=datetime.fromtimestamp(at_s, UTC))


def test_the_database_answers_with_its_latency(limits):
    check = checks.database(limits, now=timezone.now())

    assert check.status == "healthy"
    assert check.details["latency_ms"] >= 0


def test_redis_answers_with_its_memory(limits):
    check = checks.redis(limits, now=timezone.now())

    assert check.status == "healthy"
    assert check.details["used_memory_mb"] > 0


def test_redis_memory_past_the_threshold_is_degraded(limits):
    limits.redis_memory_degraded_mb = 0.0

    assert checks.redis(limits, now=timezone.now()).status == "degraded"


def test_a_fresh_heartbeat_keeps_beat_healthy_and_an_old_one_does_not(limits):
    now = timezone.now()
    heartbeat_record(at=now.timestamp() - 5)
    fresh = checks.beat(limits, now=now)

    later = now + timedelta(seconds=limits.heartbeat_unhealthy_s + 1)

    assert fresh.status == "healthy"
    assert checks.beat(limits, now=later).status == "unhealthy"


def test_queues_are_graded_by_their_depth(limits):
    limits.queue_degraded = 2
    redis_client().rpush("maintenance", "a", "b", "c")

    check = checks.queues(limits, now=timezone.now())

    assert check.status == "degraded"
    assert check.details["depths"]["maintenance"] == 3


def test_disk_free_space_under_var_is_reported(limits, settings):
    check = checks.disk(limits, now=timezone.now())

    assert check.status in {"healthy", "degraded", "unhealthy"}
    assert check.details["path"] == str(settings.VAR_DIR)
    assert 0 <= check.details["free_pct"] <= 100


def test_disk_thresholds_grade_the_free_space(limits):
    limits.disk_free_degraded_pct = limits.disk_free_unhealthy_pct = 100.0

    assert checks.disk(limits, now=timezone.now()).status == "unhealthy"


def test_a_periodic_job_late_by_many_intervals_is_unhealthy(limits):
    now = timezone.now()
    every = IntervalSchedule.objects.create(every=60, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.create(
        name="on time", task="x.y", interval=every, last_run_at=now - timedelta(seconds=210)
    )
    PeriodicTask.objects.create(
        name="late", task="x.z", interval=every, last_run_at=now - timedelta(hours=1)
    )

    check = checks.jobs(limits, now=now)

    # Beat saves last_run_at every 180 s: only the age beyond that counts.
    assert check.status == "unhealthy"
    assert check.details["jobs"]["on time"]["intervals_late"] == 0.5
    assert check.details["jobs"]["late"]["intervals_late"] == 57.0


def test_jobs_are_healthy_when_every_job_ran_on_time(limits):
    every = IntervalSchedule.objects.create(every=60, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.create(name="ok", task="x.y", interval=every, last_run_at=timezone.now())

    assert checks.jobs(limits, now=timezone.now()).status == "healthy"


def test_ingest_freshness_is_graded_per_service(limits):
    now = time.time()
    metric_point("api", now)
    metric_point("billing", now - 1200)

    check = checks.ingest(limits, now=timezone.now())

    assert check.status == "degraded"
    assert check.details["last_seen_age_s"]["api"] < 60
    assert check.details["last_seen_age_s"]["billing"] >= 1200


def test_a_service_silent_for_a_day_is_retired_not_stale(limits):
    metric_point("old", time.time() - 2 * 86_400)

    check = checks.ingest(limits, now=timezone.now())

    assert check.status == "healthy"
    assert check.details["last_seen_age_s"] == {}


def test_unreachable_redis_makes_redis_queues_and_beat_unhealthy(settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    redis_client.cache_clear()
    try:
        services.components_check(now=timezone.now())
    finally:
        redis_client.cache_clear()

    states = dict(ComponentState.objects.values_list("name", "status"))
    assert states["redis"] == "unhealthy"
    assert states["queues"] == "unhealthy"
    assert states["beat"] == "unhealthy"
    assert states["database"] == "healthy"
    assert "Error" in ComponentState.objects.get(name="redis").details["error"]


def test_a_check_stores_every_component_and_a_transition_only_on_change():
    now = timezone.now()
    heartbeat_record(at=now.timestamp())
    first = services.components_check(now=now)

    again = services.components_check(now=now)

    names = {"database", "redis", "workers", "beat", "queues", "disk", "jobs", "ingest"}
    assert set(first) == names
    assert again == []
    assert ComponentTransition.objects.count() == len(names)
    assert ComponentState.objects.get(name="database").status == "healthy"


def test_an_older_check_never_overwrites_a_newer_one():
    now = timezone.now()
    services.component_state_record(name="x", status="healthy", details={}, at=now)

    changed = services.component_state_record(
        name="x", status="unhealthy", details={}, at=now - timedelta(seconds=5)
    )

    assert changed is False
    assert ComponentState.objects.get(name="x").status == "healthy"
