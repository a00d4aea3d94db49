"""A durable spool: encoded export requests that aivmon did not take, kept in SQLite in order.

One row is one HTTP request body as the exporter would have sent it (already compressed if
compression is on) with the URL and the content headers; the API key is not written to disk.
The spool is bounded by the bytes of its bodies: past the bound the oldest rows go first, and
the drops are counted (in the file, so the count survives restarts too).
"""

import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS batches (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    url TEXT NOT NULL,
    content_type TEXT NOT NULL,
    content_encoding TEXT NOT NULL DEFAULT '',
    body BLOB NOT NULL,
    created_s REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


@dataclass(frozen=True, slots=True)
class SpooledRequest:
    id: int
    url: str
    content_type: str
    content_encoding: str
    body: bytes


class Spool:
    """Spooled requests in a SQLite file, oldest first; safe to share between threads."""

    def __init__(self, path: str | Path, *, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        self._open()

    def _open(self) -> None:
        self._lock = threading.Lock()
        self._db = sqlite3.connect(
            self.path, check_same_thread=False, isolation_level=None, timeout=30.0
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._refresh()

    def reopen_after_fork(self) -> None:
        """Open a connection of the child's own (a SQLite connection must not cross a fork)."""
        self._open()

    def _refresh(self) -> None:
        count, size = self._db.execute(
            "SELECT COUNT(*), COALESCE(SUM(LENGTH(body)), 0) FROM batches"
        ).fetchone()
        self._count, self._bytes = count, size

    def __len__(self) -> int:
        return self._count

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def put(self, *, url: str, body: bytes, content_type: str, content_encoding: str = "") -> int:
        """Append a request; drop the oldest past the bound. Return how many rows were dropped."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute(
                    "INSERT INTO batches (url, content_type, content_encoding, body, created_s)"
                    " VALUES (?, ?, ?, ?, strftime('%s', 'now'))",
                    (url, content_type, content_encoding, body),
                )
                self._count, self._bytes = self._count + 1, self._bytes + len(body)
                dropped = self._trim()
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                self._refresh()
                raise
            return dropped

    def _trim(self) -> int:
        """Delete the oldest rows until the bodies fit the bound; count what went."""
        dropped = 0
        while self._bytes > self.max_bytes and self._count:
            rows = self._db.execute(
                "SELECT id, LENGTH(body) FROM batches ORDER BY id LIMIT 64"
            ).fetchall()
            for row_id, size in rows:
                if self._bytes <= self.max_bytes:
                    break
                self._db.execute("DELETE FROM batches WHERE id = ?", (row_id,))
                self._count, self._bytes = self._count - 1, self._bytes - size
                dropped += 1
        if dropped:
            self._db.execute(
                "INSERT INTO counters (name, value) VALUES ('dropped', ?)"
                " ON CONFLICT (name) DO UPDATE SET value = value + excluded.value",
                (dropped,),
            )
        return dropped

    def peek(self) -> SpooledRequest | None:
        """Return the oldest request, or None when the spool is empty."""
        with self._lock:
            row = self._db.execute(
                "SELECT id, url, content_type, content_encoding, body FROM batches"
                " ORDER BY id LIMIT 1"
            ).fetchone()
            if row is None or not self._count:
                self._refresh()  # another process may share the file
        return SpooledRequest(*row) if row else None

    def delete(self, request_id: int) -> None:
        """Forget a request once it was delivered (or refused for good)."""
        with self._lock:
            gone = self._db.execute(
                "DELETE FROM batches WHERE id = ? RETURNING LENGTH(body)", (request_id,)
            ).fetchone()
            if gone:
                self._count, self._bytes = self._count - 1, self._bytes - gone[0]

    @property
    def dropped(self) -> int:
        """How many requests were dropped to keep the bound, over the file's whole life."""
        with self._lock:
            row = self._db.execute("SELECT value FROM counters WHERE name = 'dropped'").fetchone()
        return row[0] if row else 0

    def close(self) -> None:
        with self._lock:
            self._db.close()
