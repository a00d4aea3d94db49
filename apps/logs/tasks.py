"""Log retention by severity band: debug, info (access) and warn+error each have their days."""

import time

from celery import shared_task

from apps.core.selectors import retention_cutoff_ns
from apps.core.services import prune_locked
from apps.logs.services import logs_prune

PRUNE_TIME_LIMIT_S = 600


@shared_task(
    name="aivmon.logs.prune",
    time_limit=PRUNE_TIME_LIMIT_S,
    soft_time_limit=PRUNE_TIME_LIMIT_S - 60,
    ignore_result=True,
)
def prune() -> int:
    """Delete log records past their band's retention in bounded batches (one runner at a time)."""
    now_ns = time.time_ns()
    debug = retention_cutoff_ns("logs.debug", now_ns=now_ns)
    info = retention_cutoff_ns("logs.info", now_ns=now_ns)
    warn = retention_cutoff_ns("logs.warn", now_ns=now_ns)
    return prune_locked(
        "logs.prune",
        lambda: logs_prune(debug_before_ns=debug, info_before_ns=info, warn_before_ns=warn),
        timeout_s=PRUNE_TIME_LIMIT_S,
        max_rounds=500,
    )
