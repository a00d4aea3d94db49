"""Django's SQLite backend, waiting for the write lock in short steps.

Every write transaction begins with BEGIN IMMEDIATE, which waits for SQLite's write lock in
SQLite's busy handler. That handler sleeps 1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100 ms
between its tries: a process that lost a few rounds sleeps 25-100 ms at a time while another
one, writing batch after batch, takes the lock again and again in between. Measured with two
web workers ingesting: one worker's batch waited 100-190 ms while the other committed a dozen.

Here BEGIN waits at most BEGIN_STEP_MS in SQLite's handler (its first, short sleeps) and is
tried again at once, until the connection's own busy timeout has passed; then the error is
raised as before (ingest answers 503). A write lock freed is taken within a few ms by whoever
waits. Statements outside transactions keep the busy timeout as configured.
"""

import time

from django.db import OperationalError
from django.db.backends.sqlite3 import base

BEGIN_STEP_MS = 3  # SQLite's handler sleeps 1 ms, then 2 ms: two tries a step


class DatabaseWrapper(base.DatabaseWrapper):
    def _start_transaction_under_autocommit(self) -> None:
        mode = getattr(self, "transaction_mode", None)
        begin = f"BEGIN {mode}" if mode else "BEGIN"
        timeout_ms = int(self.settings_dict["OPTIONS"].get("timeout", 5) * 1000)
        deadline = time.monotonic() + timeout_ms / 1000
        with self.cursor() as cursor:
            cursor.execute(f"PRAGMA busy_timeout = {BEGIN_STEP_MS}")
            try:
                while True:
                    try:
                        cursor.execute(begin)
                        return
                    except OperationalError as exc:
                        if "locked" not in str(exc) or time.monotonic() >= deadline:
                            raise
            finally:
                cursor.execute(f"PRAGMA busy_timeout = {timeout_ms}")
