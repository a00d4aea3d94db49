"""aivmon's SQLite backend: a write transaction takes the lock soon after it is freed, and
still gives up after the busy timeout."""

import sqlite3
import threading
import time
from contextlib import closing

import pytest
from django.db import OperationalError, connection, transaction

from apps.metrics.models import PointHeadState

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's write lock"),
]


def _hold_write_lock(seconds: float, held: threading.Event) -> None:
    """Another connection (another process, as far as SQLite knows) holds the lock a while."""
    path = connection.settings_dict["NAME"]
    with closing(sqlite3.connect(path, isolation_level=None)) as other:
        other.execute("BEGIN IMMEDIATE")
        held.set()
        time.sleep(seconds)
        other.execute("COMMIT")


def _locked_for(seconds: float) -> threading.Thread:
    held = threading.Event()
    holder = threading.Thread(target=_hold_write_lock, args=(seconds, held))
    holder.start()
    assert held.wait(5)
    return holder


def test_a_write_transaction_takes_the_lock_within_a_few_ms_of_its_release():
    connection.ensure_connection()
    holder = _locked_for(0.3)
    started = time.monotonic()

    with transaction.atomic():
        PointHeadState.objects.create(id=50, watermark_ms=1)
    waited = time.monotonic() - started
    holder.join()

    # SQLite's own busy handler would be sleeping 50-100 ms at a time by now.
    assert 0.28 <= waited < 0.33
    with connection.cursor() as cursor:  # statements outside transactions wait as configured
        cursor.execute("PRAGMA busy_timeout")
        assert cursor.fetchone()[0] == connection.settings_dict["OPTIONS"]["timeout"] * 1000


def test_a_write_transaction_still_gives_up_after_the_busy_timeout(monkeypatch):
    connection.ensure_connection()
    monkeypatch.setitem(connection.settings_dict["OPTIONS"], "timeout", 0.2)
    holder = _locked_for(0.6)
    started = time.monotonic()

    with pytest.raises(OperationalError, match="locked"), transaction.atomic():
        PointHeadState.objects.create(id=51, watermark_ms=1)
    waited = time.monotonic() - started
    holder.join()

    assert 0.2 <= waited < 0.3
    assert not PointHeadState.objects.filter(id=51).exists()
