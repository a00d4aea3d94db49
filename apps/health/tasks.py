"""Health tasks: component checks and host samples every few seconds, the daily code scan."""

import time
from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from apps.core.locks import single_flight
from apps.health import services

CHECK_TIME_LIMIT_S = 60
SCAN_TIME_LIMIT_S = 1800


@shared_task(
    name="aivmon.health.check_components",
    time_limit=CHECK_TIME_LIMIT_S,
    soft_time_limit=CHECK_TIME_LIMIT_S - 10,
    ignore_result=True,
)
def check_components() -> list[str]:
    """Check every component and store the results (one runner at a time)."""
    with single_flight("health.check_components", timeout_s=CHECK_TIME_LIMIT_S) as mine:
        return services.components_check(now=timezone.now()) if mine else []


@shared_task(
    name="aivmon.health.sample_host",
    time_limit=CHECK_TIME_LIMIT_S,
    soft_time_limit=CHECK_TIME_LIMIT_S - 10,
    ignore_result=True,
)
def sample_host(ts_ms: int | None = None) -> int:
    """Sample the host into the metric store (a repeated ts_ms is stored once)."""
    return services.host_sample_record(ts_ms=ts_ms or int(time.time() * 1000))


@shared_task(
    name="aivmon.health.scan_code",
    time_limit=SCAN_TIME_LIMIT_S,
    soft_time_limit=SCAN_TIME_LIMIT_S - 60,
    ignore_result=True,
)
def scan_code(names: list[str] | None = None, min_age_s: float = 0) -> list[int]:
    """Scan the enabled code components (all, or those named) not scanned within min_age_s."""
    with single_flight("health.scan_code", timeout_s=SCAN_TIME_LIMIT_S) as mine:
        if not mine:
            return []
        since = timezone.now() - timedelta(seconds=min_age_s)
        scans = services.code_scans_run(names=names, not_since=since if min_age_s else None)
        return [scan.pk for scan in scans]
