"""The hourly backup: write, check, keep the key file, rotate (one runner at a time)."""

import logging

from celery import shared_task

from apps.backups.constants import LOCK_NAME, LOCK_TIMEOUT_S
from apps.backups.selectors import policy_get
from apps.backups.services import BackupError, backup_create, backups_rotate
from apps.core.locks import single_flight

logger = logging.getLogger(__name__)


@shared_task(
    name="aivmon.backups.run",
    time_limit=LOCK_TIMEOUT_S,
    soft_time_limit=LOCK_TIMEOUT_S - 60,
    ignore_result=True,
)
def run() -> str | None:
    """Take a backup when the policy is enabled and the database is SQLite; return its name."""
    policy = policy_get()
    if not policy.enabled:
        return None
    with single_flight(LOCK_NAME, timeout_s=LOCK_TIMEOUT_S) as mine:
        if not mine:
            return None
        try:
            backup = backup_create()
        except BackupError as exc:
            logger.warning("backup.skipped", extra={"reason": str(exc)})
            return None
        backups_rotate(policy=policy)
    return backup.path.name
