"""Online SQLite backups (VACUUM INTO), their check, rotation and restore; the key file copy.

A backup is written beside its final name, checked (SQLite's integrity check and aivmon's own
tables), then renamed: a file named aivmon-<stamp>.sqlite3 is always whole. A restore checks the
file the same way, sets the current database aside (replaced-<stamp>.sqlite3), then copies the
backup into the live database with SQLite's backup API, so running processes keep their
connections and read the restored data; migrations newer than the backup are applied after.
"""

import logging
import os
import re
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.db import connections

from apps.audit.services import audit_record
from apps.backups.constants import (
    BACKUP_PREFIX,
    BACKUP_SUFFIX,
    KEY_DIR,
    REPLACED_PREFIX,
    REQUIRED_TABLES,
)
from apps.backups.models import BackupPolicy
from apps.backups.selectors import (
    BackupFile,
    backup_dir,
    backup_list,
    replaced_list,
    stamp_of,
)

logger = logging.getLogger(__name__)

SQLITE_MAGIC = b"SQLite format 3\x00"
INTEGRITY_CHECK_LIMIT = 100  # SQLite's default: integrity_check stops after this many messages
_NULL_REPORT = re.compile(r"NULL value in (?P<table>[^.]+)\.(?P<column>.+)")


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why."""


@dataclass(frozen=True)
class RestoreResult:
    restored_from: Path
    set_aside: Path


def database_path() -> Path:
    """The SQLite file of the default database (backups here are of SQLite only)."""
    database = connections["default"].settings_dict
    if connections["default"].vendor != "sqlite":
        raise BackupError(
            "backups cover the embedded SQLite database; on PostgreSQL use base backups and "
            "WAL archiving (README, 'Backups and restore')"
        )
    return Path(database["NAME"])


def backup_verify(path: Path) -> None:
    """Raise BackupError unless `path` is a whole SQLite database holding aivmon's tables."""
    try:
        with path.open("rb") as handle:
            header = handle.read(len(SQLITE_MAGIC))
    except OSError as exc:
        raise BackupError(f"{path}: cannot read: {exc.strerror}") from exc
    if header != SQLITE_MAGIC:
        raise BackupError(f"{path}: not an SQLite database")
    try:
        with _read_only(path) as db:
            problems = integrity_problems(db)
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path}: damaged: {exc}") from exc
    if problems:
        raise BackupError(f"{path}: integrity check failed: {problems[0]}")
    missing = [table for table in REQUIRED_TABLES if table not in tables]
    if missing:
        raise BackupError(f"{path}: not an aivmon database (no {', '.join(missing)})")


def integrity_problems(db: sqlite3.Connection) -> list[str]:
    """SQLite's integrity check of `db`, less its false NOT NULL reports; [] when whole.

    SQLite 3.40 reports "NULL value in <table>.<column>" for rows of a WITHOUT ROWID table
    whose NOT NULL column sits between primary-key columns (metrics_pointhead), though no
    value is NULL. Such a report counts only when a query finds the NULL; any other message
    is a problem. When the false reports fill the check's quota, the other tables are
    checked one by one so that a problem they hide is still found.
    """
    verdict = [row[0] for row in db.execute("PRAGMA integrity_check")]
    if verdict == ["ok"]:
        return []
    problems = [message for message in verdict if not _false_null_report(db, message)]
    if problems or len(verdict) < INTEGRITY_CHECK_LIMIT:
        return problems
    flagged = {_null_report_table(message) for message in verdict}
    for table in _table_names(db) - flagged:
        partial = [row[0] for row in db.execute(f"PRAGMA integrity_check({_quoted(table)})")]
        problems += [message for message in partial if message != "ok"]
    return problems


def _false_null_report(db: sqlite3.Connection, message: str) -> bool:
    """Whether `message` reports a NULL in a NOT NULL column that a query does not find."""
    match = _NULL_REPORT.fullmatch(message)
    if match is None or match["table"] not in _table_names(db):
        return False
    table, column = match["table"], match["column"]
    columns = {row[1] for row in db.execute(f"PRAGMA table_info({_quoted(table)})")}
    if column not in columns:
        return False
    # Not "IS NULL": SQLite folds that to false on a NOT NULL column and would never find one.
    query = f"SELECT 1 FROM {_quoted(table)} WHERE typeof({_quoted(column)}) = 'null' LIMIT 1"  # noqa: S608 (names checked above)
    return db.execute(query).fetchone() is None


def _null_report_table(message: str) -> str | None:
    match = _NULL_REPORT.fullmatch(message)
    return match["table"] if match else None


def _table_names(db: sqlite3.Connection) -> set[str]:
    return {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _quoted(identifier: str) -> str:
    """An SQL identifier in double quotes (inner quotes doubled)."""
    return '"' + identifier.replace('"', '""') + '"'


def backup_create(*, now: datetime | None = None) -> BackupFile:
    """Write, check and keep one backup of the live database; also copy the key file."""
    moment = now or datetime.now(UTC)
    target = backup_dir() / f"{BACKUP_PREFIX}{stamp_of(moment)}{BACKUP_SUFFIX}"
    _snapshot(database_path(), target)
    secrets_key_backup(now=moment)
    logger.info("backup.created", extra={"path": str(target)})
    return BackupFile(target, moment, target.stat().st_size)


def _snapshot(source: Path, target: Path) -> None:
    """VACUUM INTO a private partial file; check it; rename it into place."""
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    os.close(os.open(partial, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    try:
        with _connection(source) as db:
            db.execute("VACUUM INTO ?", (str(partial),))
        backup_verify(partial)
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)


def backups_rotate(*, policy: BackupPolicy, now: datetime | None = None) -> list[Path]:
    """Delete the backups the policy does not keep; return what was deleted.

    Kept: the newest backup overall, and the newest of each of the last `keep_hourly` hours
    and of the last `keep_daily` days; databases set aside by restores for `keep_daily` days.
    """
    moment = now or datetime.now(UTC)
    backups = backup_list()
    kept = {backups[0].path} if backups else set()
    kept |= _newest_per_bucket(backups, moment, timedelta(hours=1), policy.keep_hourly)
    kept |= _newest_per_bucket(backups, moment, timedelta(days=1), policy.keep_daily)
    doomed = [backup.path for backup in backups if backup.path not in kept]
    horizon = moment - timedelta(days=policy.keep_daily)
    doomed += [aside.path for aside in replaced_list() if aside.taken_at < horizon]
    for path in doomed:
        path.unlink(missing_ok=True)
    return doomed


def _newest_per_bucket(
    backups: list[BackupFile], now: datetime, size: timedelta, count: int
) -> set[Path]:
    """The newest backup in each of the last `count` buckets of `size` (UTC-aligned)."""
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    current = (now - epoch) // size
    newest: dict[int, Path] = {}
    for backup in backups:  # newest first: the first seen in a bucket is its newest
        bucket = (backup.taken_at - epoch) // size
        if current - count < bucket <= current:
            newest.setdefault(bucket, backup.path)
    return set(newest.values())


def backup_restore(path: Path, *, actor_label: str = "manage.py restore") -> RestoreResult:
    """Replace the live database's content by the backup at `path` (checked first)."""
    backup_verify(path)
    live = database_path()
    aside = backup_dir() / f"{REPLACED_PREFIX}{stamp_of(datetime.now(UTC))}{BACKUP_SUFFIX}"
    _snapshot(live, aside)
    connections["default"].close()
    with _read_only(path) as source, _connection(live) as target:
        source.backup(target)
    connections["default"].close()
    call_command("migrate", interactive=False, verbosity=0)
    audit_record(
        action="backup.restored",
        target=path.name,
        details={"set_aside": aside.name, "by": actor_label},
    )
    logger.warning("backup.restored", extra={"path": str(path), "set_aside": str(aside)})
    return RestoreResult(path, aside)


def secrets_key_backup(*, now: datetime | None = None) -> Path | None:
    """Copy the generated channel-secrets key file into backups/keys/ when it changed.

    Kept apart from the database backups: channel secrets in a backup are encrypted with this
    key, so a restore needs it, while a database backup that leaks without it reveals none.
    Nothing is copied when the key comes from the environment (its owner keeps it).
    """
    source = Path(settings.AIVMON_SECRETS_KEY_FILE)
    if os.environ.get("AIVMON_SECRETS_KEY") or not source.is_file():
        return None
    keys = backup_dir() / KEY_DIR
    keys.mkdir(mode=0o700, exist_ok=True)
    content = source.read_bytes()
    copies = sorted(keys.glob("secrets_key-*"))
    if copies and copies[-1].read_bytes() == content:
        return copies[-1]
    target = keys / f"secrets_key-{stamp_of(now or datetime.now(UTC))}"
    fd = os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(content)
    return target


def _connection(path: Path) -> closing[sqlite3.Connection]:
    """A connection of its own (autocommit), closed on leaving the block."""
    return closing(sqlite3.connect(path, timeout=30, isolation_level=None))


def _read_only(path: Path) -> closing[sqlite3.Connection]:
    return closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None))
