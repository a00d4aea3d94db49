"""Checks of aivmon's own parts: each answers a Check, healthy, degraded or unhealthy, with details.

Each check reads through other apps' selectors (or pings the dependency itself), is bounded in
time, and never raises: a failing probe is an unhealthy result naming the error.
"""

import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import connection
from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler

from apps.core.redis import redis_client
from apps.core.selectors import heartbeat_last, queue_depths
from apps.core.times import optional_rfc3339
from apps.health.constants import STATUS_RANK, Status
from apps.health.models import HealthThresholds
from apps.metrics.selectors import service_last_seen_list

logger = logging.getLogger(__name__)
MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    status: str
    details: dict[str, Any] = field(default_factory=dict)


def graded(value: float, degraded: float, unhealthy: float) -> str:
    """Grade a figure where higher is worse."""
    if value >= unhealthy:
        return Status.UNHEALTHY
    return Status.DEGRADED if value >= degraded else Status.HEALTHY


def worst(statuses: list[str]) -> str:
    """Return the worst of the statuses (healthy when there are none)."""
    return max(statuses, key=lambda status: STATUS_RANK[Status(status)], default=Status.HEALTHY)


def database(limits: HealthThresholds, *, now: datetime) -> Check:
    """Run a query and time it."""
    began = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    latency_ms = (time.perf_counter() - began) * 1000
    status = graded(latency_ms, limits.db_latency_degraded_ms, limits.db_latency_unhealthy_ms)
    return Check("database", status, {"vendor": connection.vendor, "latency_ms": latency_ms})


def redis(limits: HealthThresholds, *, now: datetime) -> Check:
    """Ping Redis and read its used memory."""
    client = redis_client()
    began = time.perf_counter()
    client.ping()
    latency_ms = (time.perf_counter() - began) * 1000
    memory = client.info("memory")
    used_mb = memory.get("used_memory", 0) / MIB
    status = graded(used_mb, limits.redis_memory_degraded_mb, limits.redis_memory_unhealthy_mb)
    details = {"latency_ms": latency_ms, "used_memory_mb": round(used_mb, 2)}
    if memory.get("maxmemory"):
        details["maxmemory_mb"] = round(memory["maxmemory"] / MIB, 2)
    return Check("redis", status, details)


def workers(limits: HealthThresholds, *, now: datetime) -> Check:
    """Ping the Celery workers through the broker; count those that answer."""
    timeout_s = settings.AIVMON_HEALTH_WORKER_PING_TIMEOUT_S
    with current_app.connection_for_write() as broker:
        # Fail fast when the broker is down instead of retrying the publish for minutes.
        broker.ensure_connection(max_retries=1, timeout=timeout_s)
        replies = current_app.control.ping(timeout=timeout_s, connection=broker) or []
    names = sorted(name for reply in replies for name in reply)
    if not names:
        status = Status.UNHEALTHY
    elif len(names) < limits.workers_degraded_below:
        status = Status.DEGRADED
    else:
        status = Status.HEALTHY
    return Check("workers", status, {"answering": len(names), "workers": names})


def beat(limits: HealthThresholds, *, now: datetime) -> Check:
    """Read the age of the heartbeat beat schedules and a worker records."""
    last = heartbeat_last()
    if last is None:
        return Check("beat", Status.UNHEALTHY, {"heartbeat_age_s": None, "error": "no heartbeat"})
    age_s = max(now.timestamp() - last, 0.0)
    status = graded(age_s, limits.heartbeat_degraded_s, limits.heartbeat_unhealthy_s)
    return Check("beat", status, {"heartbeat_age_s": round(age_s, 3)})


def queues(limits: HealthThresholds, *, now: datetime) -> Check:
    """Read how many messages wait in each Celery queue."""
    depths = queue_depths(list(settings.AIVMON_QUEUES))
    if not depths:
        return Check("queues", Status.UNHEALTHY, {"error": "queue depths unavailable"})
    status = worst(
        [graded(n, limits.queue_degraded, limits.queue_unhealthy) for n in depths.values()]
    )
    return Check("queues", status, {"depths": depths})


def disk(limits: HealthThresholds, *, now: datetime) -> Check:
    """Read the free space of the file system that holds var/."""
    usage = shutil.disk_usage(settings.VAR_DIR)
    free_pct = 100.0 * usage.free / usage.total if usage.total else 0.0
    if free_pct <= limits.disk_free_unhealthy_pct:
        status = Status.UNHEALTHY
    elif free_pct <= limits.disk_free_degraded_pct:
        status = Status.DEGRADED
    else:
        status = Status.HEALTHY
    details = {"path": str(settings.VAR_DIR), "free_pct": round(free_pct, 2)}
    return Check("disk", status, {**details, "free_bytes": usage.free, "total_bytes": usage.total})


def jobs(limits: HealthThresholds, *, now: datetime) -> Check:
    """Read when beat last ran each enabled periodic job; grade those on an interval by lateness.

    Beat's DatabaseScheduler saves last_run_at only every `sync_every` seconds (3 minutes), so
    a job on a short interval runs on time while its stored last_run_at is minutes old: only
    the age beyond that save delay counts as late.
    """
    found, statuses = {}, []
    unsaved_s = float(DatabaseScheduler.sync_every)
    for task in PeriodicTask.objects.filter(enabled=True).select_related("interval"):
        last = task.last_run_at
        entry: dict[str, Any] = {"last_run_at": optional_rfc3339(last)}
        if task.interval is not None and last is not None:
            every_s = task.interval.schedule.run_every.total_seconds()
            late_s = max((now - last).total_seconds() - unsaved_s, 0.0)
            late = late_s / max(every_s, 1.0)
            entry.update(interval_s=every_s, intervals_late=round(late, 2))
            statuses.append(
                graded(late, limits.job_late_degraded_factor, limits.job_late_unhealthy_factor)
            )
        found[task.name] = entry
    return Check("jobs", worst(statuses), {"jobs": found})


def ingest(limits: HealthThresholds, *, now: datetime) -> Check:
    """Read how long ago each recently active service last sent metrics."""
    since = now - timedelta(seconds=limits.ingest_forget_s)
    ages = {
        service or "(none)": max((now - last).total_seconds(), 0.0)
        for service, last in service_last_seen_list(since=since).items()
    }
    statuses = [
        graded(age, limits.ingest_stale_degraded_s, limits.ingest_stale_unhealthy_s)
        for age in ages.values()
    ]
    services = {service: round(age, 1) for service, age in ages.items()}
    return Check("ingest", worst(statuses), {"last_seen_age_s": services})


CHECKS: tuple[Callable[..., Check], ...] = (
    database,
    redis,
    workers,
    beat,
    queues,
    disk,
    jobs,
    ingest,
)


def checks_run(limits: HealthThresholds, *, now: datetime) -> list[Check]:
    """Run every check; one that raises is unhealthy with its error, the others still run."""
    results = []
    for check in CHECKS:
        try:
            results.append(check(limits, now=now))
        except Exception as exc:  # a probe failing is exactly what a check reports
            logger.warning(
                "health.check.failed", extra={"check": check.__name__, "error": str(exc)}
            )
            error = f"{type(exc).__name__}: {exc}"
            results.append(Check(check.__name__, Status.UNHEALTHY, {"error": error}))
    return results
