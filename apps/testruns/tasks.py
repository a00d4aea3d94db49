"""Test-run retention: runs and their case results are kept `testruns.runs` days."""

from datetime import UTC, datetime

from celery import shared_task
from django.utils import timezone

from apps.core.selectors import retention_cutoff_ns
from apps.core.services import prune_locked
from apps.testruns.constants import RETENTION_KEY
from apps.testruns.services import runs_prune

PRUNE_TIME_LIMIT_S = 600


@shared_task(
    name="aivmon.testruns.prune",
    time_limit=PRUNE_TIME_LIMIT_S,
    soft_time_limit=PRUNE_TIME_LIMIT_S - 60,
    ignore_result=True,
)
def prune() -> int:
    """Delete runs that started before their retention (one runner at a time)."""
    cutoff_ns = retention_cutoff_ns(RETENTION_KEY, now_ns=int(timezone.now().timestamp() * 1e9))
    if cutoff_ns is None:
        return 0
    before = datetime.fromtimestamp(cutoff_ns / 1e9, UTC)
    return prune_locked(
        "testruns.prune",
        lambda: runs_prune(before=before),
        timeout_s=PRUNE_TIME_LIMIT_S,
        max_rounds=500,
    )
