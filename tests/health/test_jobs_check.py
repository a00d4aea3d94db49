"""The jobs component: short-interval jobs that beat runs on time are not judged stale from a
last_run_at that beat saves only every few minutes; times in its details end in Z."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler

from apps.health import checks
from apps.health.selectors import thresholds_get

pytestmark = pytest.mark.django_db


def _job(name: str, *, every_s: int, age_s: float) -> None:
    every, _ = IntervalSchedule.objects.get_or_create(every=every_s, period="seconds")
    last = timezone.now() - timedelta(seconds=age_s)
    PeriodicTask.objects.create(name=name, task="x.y", interval=every, last_run_at=last)


def test_a_short_interval_job_as_old_as_beats_save_delay_is_healthy():
    # Beat saved last_run_at a save delay ago and has run the 10 s job ever since.
    _job("compact", every_s=10, age_s=DatabaseScheduler.sync_every + 5)

    check = checks.jobs(thresholds_get(), now=timezone.now())

    assert check.status == "healthy"


def test_a_short_interval_job_that_stopped_running_is_still_unhealthy():
    _job("compact", every_s=10, age_s=DatabaseScheduler.sync_every + 10 * 11)

    check = checks.jobs(thresholds_get(), now=timezone.now())

    assert check.status == "unhealthy"
    assert check.details["jobs"]["compact"]["intervals_late"] >= 10


def test_a_jobs_last_run_at_is_rfc3339_with_z():
    _job("compact", every_s=10, age_s=1)

    last_run_at = checks.jobs(thresholds_get(), now=timezone.now()).details["jobs"]["compact"][
        "last_run_at"
    ]

    assert last_run_at.endswith("Z")
    assert "+00:00" not in last_run_at
