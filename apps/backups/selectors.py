"""Reads: the backup directory, the kept backups, the policy."""

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings

from apps.backups.constants import BACKUP_PREFIX, BACKUP_SUFFIX, REPLACED_PREFIX, STAMP_FORMAT
from apps.backups.models import BackupPolicy


@dataclass(frozen=True)
class BackupFile:
    path: Path
    taken_at: datetime
    size: int


def backup_dir() -> Path:
    path = Path(settings.AIVMON_BACKUP_DIR)
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def stamp_of(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(STAMP_FORMAT)


def _taken_at(name: str, prefix: str) -> datetime | None:
    if not (name.startswith(prefix) and name.endswith(BACKUP_SUFFIX)):
        return None
    try:
        stamp = name[len(prefix) : -len(BACKUP_SUFFIX)]
        return datetime.strptime(stamp, STAMP_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None


def _listed(prefix: str) -> list[BackupFile]:
    found = []
    for path in backup_dir().iterdir():
        taken_at = _taken_at(path.name, prefix)
        if taken_at is not None and path.is_file():
            found.append(BackupFile(path, taken_at, path.stat().st_size))
    return sorted(found, key=lambda backup: backup.taken_at, reverse=True)


def backup_list() -> list[BackupFile]:
    """The kept backups, newest first (files named aivmon-<UTC stamp>.sqlite3)."""
    return _listed(BACKUP_PREFIX)


def replaced_list() -> list[BackupFile]:
    """Databases set aside by restores, newest first."""
    return _listed(REPLACED_PREFIX)


def backup_at(moment: datetime) -> BackupFile | None:
    """The newest backup taken at or before `moment` (point-in-time restore), or None."""
    return next((backup for backup in backup_list() if backup.taken_at <= moment), None)


def policy_get() -> BackupPolicy:
    """The policy an admin set, or the defaults while none is saved."""
    return BackupPolicy.objects.order_by("pk").first() or BackupPolicy()
