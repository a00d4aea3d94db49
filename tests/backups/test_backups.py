"""Online backups of the SQLite database: written whole and checked, rotated, restored."""

import os
import sqlite3
import stat
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from apps.audit.models import AuditEvent
from apps.backups.models import BackupPolicy
from apps.backups.selectors import backup_at, backup_list
from apps.backups.services import (
    BackupError,
    backup_create,
    backup_restore,
    backup_verify,
    backups_rotate,
)
from tests.factories import UserFactory

sqlite_only = pytest.mark.skipif(
    connection.vendor != "sqlite", reason="backups cover the embedded SQLite database"
)


@pytest.fixture
def backup_dir(settings, tmp_path) -> Path:
    settings.AIVMON_BACKUP_DIR = str(tmp_path / "backups")
    return Path(settings.AIVMON_BACKUP_DIR)


def _fake_backup(directory: Path, moment: datetime) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"aivmon-{moment.strftime('%Y%m%dT%H%M%S%fZ')}.sqlite3"
    path.write_bytes(b"x")
    return path


@sqlite_only
def test_a_backup_is_a_checked_private_copy_of_the_live_database(transactional_db, backup_dir):
    UserFactory(username="kept-user", role="viewer")

    backup = backup_create()

    assert backup.path.parent == backup_dir
    assert stat.S_IMODE(backup.path.stat().st_mode) == 0o600
    backup_verify(backup.path)  # raises when damaged
    with sqlite3.connect(backup.path) as copy:
        names = [row[0] for row in copy.execute("SELECT username FROM auth_user")]
    assert names == ["kept-user"]
    assert [b.path for b in backup_list()] == [backup.path]
    assert not list(backup_dir.glob("*.partial"))


@sqlite_only
def test_the_command_writes_a_backup_and_lists_it(transactional_db, backup_dir, capsys):
    call_command("backup")
    call_command("backup", "--list")

    out = capsys.readouterr().out
    [backup] = backup_list()
    assert "backup written and checked" in out
    assert str(backup.path) in out.splitlines()[-1]


@sqlite_only
def test_restore_brings_back_the_backed_up_data_and_sets_the_replaced_database_aside(
    transactional_db, backup_dir
):
    UserFactory(username="before", role="viewer")
    backup = backup_create()
    UserFactory(username="after", role="viewer")

    result = backup_restore(backup.path)

    from django.contrib.auth import get_user_model

    users = set(get_user_model().objects.values_list("username", flat=True))
    assert users == {"before"}
    with sqlite3.connect(result.set_aside) as aside:
        kept = {row[0] for row in aside.execute("SELECT username FROM auth_user")}
    assert kept == {"before", "after"}
    assert AuditEvent.objects.filter(action="backup.restored", target=backup.path.name).exists()


@sqlite_only
def test_restore_reaches_connections_that_stay_open(transactional_db, backup_dir):
    """Running processes keep their connections: they read the restored data at once."""
    UserFactory(username="before", role="viewer")
    backup = backup_create()
    UserFactory(username="after", role="viewer")
    other = sqlite3.connect(connection.settings_dict["NAME"])
    assert other.execute("SELECT count(*) FROM auth_user").fetchone() == (2,)

    backup_restore(backup.path)

    assert other.execute("SELECT count(*) FROM auth_user").fetchone() == (1,)
    other.close()


@sqlite_only
@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"not a database at all", "not an SQLite database"),
        (b"SQLite format 3\x00" + os.urandom(8192), "damaged"),
    ],
)
def test_restore_refuses_a_corrupt_file_and_changes_nothing(
    transactional_db, backup_dir, tmp_path, content, reason
):
    UserFactory(username="still-here", role="viewer")
    bad = tmp_path / "bad.sqlite3"
    bad.write_bytes(content)

    with pytest.raises(CommandError, match=reason):
        call_command("restore", str(bad))

    from django.contrib.auth import get_user_model

    assert get_user_model().objects.filter(username="still-here").exists()


@sqlite_only
def test_restore_refuses_a_truncated_backup(transactional_db, backup_dir):
    for index in range(30):
        UserFactory(username=f"user-{index}", role="viewer")
    backup = backup_create()
    data = backup.path.read_bytes()
    backup.path.write_bytes(data[: len(data) // 2])

    with pytest.raises(BackupError):
        backup_restore(backup.path)


@sqlite_only
def test_restore_refuses_an_sqlite_file_that_is_not_aivmons(transactional_db, tmp_path):
    other = tmp_path / "other.sqlite3"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE t (x)")

    with pytest.raises(BackupError, match="not an aivmon database"):
        backup_verify(other)


def test_restore_at_an_instant_picks_the_newest_backup_taken_by_then(backup_dir):
    noon = datetime(2026, 11, 27, 12, tzinfo=UTC)
    early = _fake_backup(backup_dir, noon - timedelta(hours=2))
    late = _fake_backup(backup_dir, noon - timedelta(minutes=5))
    _fake_backup(backup_dir, noon + timedelta(minutes=5))

    assert backup_at(noon).path == late
    assert backup_at(noon - timedelta(hours=1)).path == early
    assert backup_at(noon - timedelta(days=1)) is None
    with pytest.raises(CommandError, match="no backup was taken"):
        call_command("restore", "--at", "2020-01-01T00:00:00Z")


def test_rotation_keeps_the_newest_backup_of_each_recent_hour_and_day(backup_dir):
    now = datetime(2026, 11, 27, 12, 30, tzinfo=UTC)
    made = {
        minutes: _fake_backup(backup_dir, now - timedelta(minutes=minutes))
        for minutes in range(0, 3 * 24 * 60 + 1, 20)  # every 20 minutes for three days
    }
    policy = BackupPolicy(keep_hourly=3, keep_daily=2)

    deleted = backups_rotate(policy=policy, now=now)

    kept = {backup.path for backup in backup_list()}
    # The newest of the current hour and each of the 2 hours before it ...
    assert {made[0], made[40], made[100]} <= kept
    # ... and the newest of today and yesterday (today's newest is the newest overall).
    assert made[12 * 60 + 40] in kept  # 23:50 yesterday
    assert len(kept) == 4
    assert len(deleted) == len(made) - 4
    assert backups_rotate(policy=policy, now=now) == []  # idempotent


def test_rotation_keeps_databases_set_aside_for_the_daily_horizon(backup_dir):
    now = datetime(2026, 11, 27, 12, tzinfo=UTC)
    backup_dir.mkdir(parents=True)
    recent = backup_dir / "replaced-20261126T120000000000Z.sqlite3"
    old = backup_dir / "replaced-20261101T120000000000Z.sqlite3"
    recent.write_bytes(b"x")
    old.write_bytes(b"x")

    backups_rotate(policy=BackupPolicy(keep_hourly=1, keep_daily=7), now=now)

    assert recent.exists() and not old.exists()


@pytest.mark.skipif(connection.vendor == "sqlite", reason="the PostgreSQL answer")
def test_on_postgresql_the_command_points_to_base_backups_and_wal_archiving(db, backup_dir):
    with pytest.raises(CommandError, match="WAL archiving"):
        call_command("backup")


@sqlite_only
def test_the_key_file_is_copied_apart_once_per_change(
    transactional_db, backup_dir, settings, tmp_path, monkeypatch
):
    monkeypatch.delenv("AIVMON_SECRETS_KEY", raising=False)
    key = tmp_path / "secrets_key"
    key.write_text("first-key")
    settings.AIVMON_SECRETS_KEY_FILE = str(key)

    backup_create(now=datetime(2026, 11, 27, 10, tzinfo=UTC))
    backup_create(now=datetime(2026, 11, 27, 11, tzinfo=UTC))
    key.write_text("second-key")
    backup_create(now=datetime(2026, 11, 27, 12, tzinfo=UTC))

    copies = sorted((backup_dir / "keys").iterdir())
    assert [copy.read_text() for copy in copies] == ["first-key", "second-key"]
    assert all(stat.S_IMODE(copy.stat().st_mode) == 0o600 for copy in copies)
    assert stat.S_IMODE((backup_dir / "keys").stat().st_mode) == 0o700


@sqlite_only
def test_the_hourly_task_backs_up_and_rotates_unless_the_policy_is_off(
    transactional_db, backup_dir
):
    from apps.backups.tasks import run

    name = run()
    assert [backup.path.name for backup in backup_list()] == [name]

    BackupPolicy.objects.create(enabled=False)
    assert run() is None
    assert len(backup_list()) == 1


def _add_head_points(count: int) -> None:
    """Rows in the point head (WITHOUT ROWID on SQLite), as ingest leaves them."""
    with connection.cursor() as cursor:
        cursor.executemany(
            'INSERT INTO "metrics_pointhead" ("shard", "ts_ms", "value", "series_id") '
            "VALUES (%s, %s, %s, %s)",
            [(index % 8, 1_700_000_000_000 + index, 0.0, index) for index in range(count)],
        )


def _head_ddl() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT sql FROM sqlite_master WHERE name = 'metrics_pointhead'")
        return cursor.fetchone()[0]


@sqlite_only
def test_sqlite_falsely_reports_a_null_in_the_point_head_and_the_check_sees_through_it(db):
    """SQLite 3.40's integrity_check says "NULL value in metrics_pointhead.value" for the
    real DDL and a row of 0.0; aivmon's check finds no NULL there and passes the database."""
    from apps.backups.services import integrity_problems

    memory = sqlite3.connect(":memory:")
    memory.execute(_head_ddl())
    memory.execute('INSERT INTO "metrics_pointhead" VALUES (0, 1, 0.0, 1)')

    if sqlite3.sqlite_version_info[:3] == (3, 40, 1):
        assert memory.execute("PRAGMA integrity_check").fetchall() == [
            ("NULL value in metrics_pointhead.value",)
        ]
    assert integrity_problems(memory) == []


@sqlite_only
def test_a_backup_taken_while_the_point_head_holds_rows_verifies(transactional_db, backup_dir):
    _add_head_points(500)  # more false reports than integrity_check's quota of 100

    backup = backup_create()

    backup_verify(backup.path)
    with sqlite3.connect(backup.path) as copy:
        assert copy.execute('SELECT count(*) FROM "metrics_pointhead"').fetchone() == (500,)


@sqlite_only
def test_a_real_null_in_a_not_null_column_still_fails_the_check(db, tmp_path):
    from apps.backups.services import integrity_problems

    path = tmp_path / "nulls.sqlite3"
    ddl = _head_ddl()
    lax = ddl.replace('"value" real NOT NULL', '"value" real')
    assert lax != ddl
    with closing(sqlite3.connect(path, isolation_level=None)) as broken:
        broken.execute(lax)
        broken.execute('INSERT INTO "metrics_pointhead" VALUES (0, 1, 0.0, 1)')
        broken.execute('INSERT INTO "metrics_pointhead" VALUES (0, 2, NULL, 1)')
        broken.execute("PRAGMA writable_schema = ON")
        broken.execute("UPDATE sqlite_master SET sql = ? WHERE name = 'metrics_pointhead'", (ddl,))
        broken.execute("PRAGMA writable_schema = OFF")
    with closing(sqlite3.connect(path)) as reopened:
        assert integrity_problems(reopened) != []


@sqlite_only
def test_a_backup_with_head_rows_and_a_corrupted_page_still_fails(transactional_db, backup_dir):
    _add_head_points(500)
    for index in range(30):
        UserFactory(username=f"user-{index}", role="viewer")
    backup = backup_create()
    with sqlite3.connect(backup.path) as copy:
        page_size = copy.execute("PRAGMA page_size").fetchone()[0]
        root = copy.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = 'auth_user'"
        ).fetchone()[0]
    data = bytearray(backup.path.read_bytes())
    start = (root - 1) * page_size
    data[start + 8 : start + page_size] = b"\xff" * (page_size - 8)  # keep the page header
    backup.path.write_bytes(bytes(data))

    with pytest.raises(BackupError):
        backup_verify(backup.path)
