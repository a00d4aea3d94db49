"""Trace retention: spans of ordinary traces go after traces.all days, error traces later."""

import time

from celery import shared_task

from apps.core.selectors import retention_cutoff_ns
from apps.core.services import prune_locked
from apps.traces.services import traces_prune

PRUNE_TIME_LIMIT_S = 600


@shared_task(
    name="aivmon.traces.prune",
    time_limit=PRUNE_TIME_LIMIT_S,
    soft_time_limit=PRUNE_TIME_LIMIT_S - 60,
    ignore_result=True,
)
def prune() -> int:
    """Delete traces past their retention in bounded batches (one runner at a time)."""
    now_ns = time.time_ns()
    before = retention_cutoff_ns("traces.all", now_ns=now_ns)
    error_before = retention_cutoff_ns("traces.error", now_ns=now_ns)
    return prune_locked(
        "traces.prune",
        lambda: traces_prune(before_ns=before, error_before_ns=error_before),
        timeout_s=PRUNE_TIME_LIMIT_S,
        max_rounds=500,
    )
