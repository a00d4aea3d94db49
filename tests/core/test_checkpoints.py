"""SQLite WAL checkpoints off the commit path of web requests (apps/core/checkpoints.py)."""

import sqlite3
from contextlib import closing

import pytest
from django.conf import settings
from django.db import connection

from apps.core import checkpoints
from apps.metrics.models import PointHeadState

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's write-ahead log"),
]


@pytest.fixture
def deferred(monkeypatch):
    monkeypatch.setattr(checkpoints, "_state", checkpoints._Checkpoints())
    checkpoints.checkpoints_defer()
    yield
    with connection.cursor() as cursor:
        cursor.execute(f"PRAGMA wal_autocheckpoint={settings.SQLITE_AUTOCHECKPOINT_PAGES}")


def _pragma(sql: str) -> tuple:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()


def _write(value: int) -> None:
    PointHeadState.objects.update_or_create(id=99, defaults={"watermark_ms": value})


def _in_database_file() -> int | None:  # (a row left there by an earlier test is no matter)
    """The value as the database file itself holds it, without the write-ahead log."""
    path = connection.settings_dict["NAME"]
    with closing(sqlite3.connect(f"file:{path}?immutable=1", uri=True)) as file_only:
        row = file_only.execute("SELECT watermark_ms FROM metrics_pointheadstate WHERE id = 99")
        found = row.fetchone()
    return None if found is None else found[0]


def test_a_deferring_process_never_checkpoints_on_commit(deferred):
    connection.close()  # a new connection gets the setting too

    assert _pragma("PRAGMA wal_autocheckpoint") == (0,)


def test_a_due_checkpoint_copies_the_log_into_the_database_file(deferred):
    _write(7)
    before = _in_database_file()

    checkpoints.checkpoint_if_due()

    assert before != 7
    assert _in_database_file() == 7


def test_checkpoints_run_at_most_every_few_hundred_ms(deferred):
    _write(11)
    checkpoints.checkpoint_if_due()
    _write(12)

    checkpoints.checkpoint_if_due()  # too soon after the first

    assert _in_database_file() == 11


def test_a_process_that_does_not_defer_is_left_alone(monkeypatch):
    monkeypatch.setattr(checkpoints, "_state", checkpoints._Checkpoints())
    _write(13)

    checkpoints.checkpoint_if_due()

    assert _in_database_file() != 13
    assert _pragma("PRAGMA wal_autocheckpoint") == (settings.SQLITE_AUTOCHECKPOINT_PAGES,)


def test_after_other_work_a_checkpoint_waits_until_it_is_overdue(deferred, monkeypatch):
    _write(21)
    checkpoints.checkpoint_if_due()
    _write(22)
    monkeypatch.setattr(checkpoints, "CHECKPOINT_EVERY_S", 0.0)  # due, but not overdue

    checkpoints.checkpoint_if_due(overdue_only=True)
    before_overdue = _in_database_file()
    monkeypatch.setattr(checkpoints, "CHECKPOINT_LATEST_S", 0.0)
    checkpoints.checkpoint_if_due(overdue_only=True)

    assert (before_overdue, _in_database_file()) == (21, 22)
