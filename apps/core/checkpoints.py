"""On SQLite, WAL checkpoints off the commit path of web requests.

SQLite copies the write-ahead log back into the database file (a checkpoint, with an fsync)
in the commit that finds the log past 1,000 pages: one request in many pays for all the
writes before it, a tail of its latency. A web server calls `checkpoints_defer` once per
worker: its connections then never checkpoint on commit, and `checkpoint_if_due`, called once
a response is sent, runs a PASSIVE checkpoint at most every CHECKPOINT_EVERY_S (which neither
waits for writers nor blocks them), so the log stays about as short as before. After other
work (a compaction of the point head) it waits until CHECKPOINT_LATEST_S, so that the next
request seldom waits behind both.
"""

import time
from dataclasses import dataclass

from django.db import connection
from django.db.backends.signals import connection_created
from django.dispatch import receiver

CHECKPOINT_EVERY_S = 0.25
CHECKPOINT_LATEST_S = 1.0


@dataclass(slots=True)
class _Checkpoints:
    deferred: bool = False
    last: float = 0.0


_state = _Checkpoints()


def checkpoints_defer() -> None:
    """Leave checkpoints of this process's SQLite connections to `checkpoint_if_due`."""
    _state.deferred = True
    if connection.connection is not None:
        _no_checkpoint_on_commit(connection)


def checkpoint_if_due(*, overdue_only: bool = False) -> None:
    """Run a PASSIVE checkpoint if deferred and none ran for CHECKPOINT_EVERY_S (with
    `overdue_only`, for CHECKPOINT_LATEST_S: the caller has just done other work)."""
    now = time.monotonic()
    every_s = CHECKPOINT_LATEST_S if overdue_only else CHECKPOINT_EVERY_S
    if not _state.deferred or connection.vendor != "sqlite" or now - _state.last < every_s:
        return
    _state.last = now
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")


@receiver(connection_created, dispatch_uid="aivmon.core.checkpoints")
def _connection_created(sender, connection, **_kwargs) -> None:
    if _state.deferred:
        _no_checkpoint_on_commit(connection)


def _no_checkpoint_on_commit(connection) -> None:
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_autocheckpoint=0")
