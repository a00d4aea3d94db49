"""Security event retention: standard, high and critical events each have their days."""

from datetime import UTC, datetime

from celery import shared_task
from django.utils import timezone

from apps.core.selectors import retention_cutoff_ns
from apps.core.services import prune_locked
from apps.security.constants import RETENTION_KEYS
from apps.security.services import security_prune

PRUNE_TIME_LIMIT_S = 600


@shared_task(
    name="aivmon.security.prune",
    time_limit=PRUNE_TIME_LIMIT_S,
    soft_time_limit=PRUNE_TIME_LIMIT_S - 60,
    ignore_result=True,
)
def prune() -> int:
    """Delete events and closed threats past their band's retention (one runner at a time)."""
    now_ns = int(timezone.now().timestamp() * 1e9)
    cutoffs = {key: _moment(retention_cutoff_ns(key, now_ns=now_ns)) for key in RETENTION_KEYS}
    return prune_locked(
        "security.prune",
        lambda: security_prune(cutoffs=cutoffs),
        timeout_s=PRUNE_TIME_LIMIT_S,
        max_rounds=500,
    )


def _moment(ns: int | None) -> datetime | None:
    return None if ns is None else datetime.fromtimestamp(ns / 1e9, UTC)
