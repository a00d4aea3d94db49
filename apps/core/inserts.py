"""Writing a batch of rows with ONE insert statement on SQLite, whatever the batch's size.

`executemany` of a one-row INSERT pays SQLite's per-statement work (and a sqlite_sequence
update under AUTOINCREMENT) for every row. One INSERT of many rows pays it once: for rows that
land next to each other in the indexes it is two to three times cheaper. The statement holds
a fixed number of rows, so that it is prepared once and then found in the statement cache;
executemany runs it over the batch's chunks, the last chunk filled up with copies of its last
row, which the unique constraint skips (the statement must be ON CONFLICT ... DO NOTHING).
"""

from collections.abc import Sequence
from functools import cache
from itertools import chain, repeat
from typing import Any

from django.db.backends.utils import CursorWrapper

# Parameters per statement: within the 999 of SQLite builds older than 3.32.
MAX_PARAMS = 999


def insert_skipping_conflicts(
    cursor: CursorWrapper, head: str, row_sql: str, tail: str, rows: Sequence[Sequence[Any]]
) -> int:
    """Run `head VALUES row_sql, row_sql, … tail` over the rows; return how many were inserted.

    `head` is "INSERT INTO table (columns)", `row_sql` the placeholders of one row, "(%s, %s)",
    and `tail` the ON CONFLICT (…) DO NOTHING clause.
    """
    width = len(rows[0])
    per_statement = max(1, MAX_PARAMS // width)
    if len(rows) <= per_statement:
        cursor.executemany(f"{head} VALUES {row_sql} {tail}", rows)
    else:
        chunks = [
            _padded(rows[i : i + per_statement], per_statement)
            for i in range(0, len(rows), per_statement)
        ]
        cursor.executemany(_statement(head, row_sql, tail, per_statement), chunks)
    return cursor.rowcount


def _padded(chunk: Sequence[Sequence[Any]], size: int) -> list[Any]:
    """The chunk's values in one flat list, its last row repeated up to `size` rows."""
    rows = chain(chunk, repeat(chunk[-1], size - len(chunk)))
    return list(chain.from_iterable(rows))


@cache
def _statement(head: str, row_sql: str, tail: str, rows: int) -> str:
    return f"{head} VALUES {', '.join([row_sql] * rows)} {tail}"
