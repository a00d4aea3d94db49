"""Full-text search over log bodies, behind one pair of functions.

SQLite: an FTS5 table over `body` with the log id as rowid (external content: the text stays in
logs_logrecord). The log writer fills it in the same transaction as the insert, and whoever
deletes log records must unindex them first (`unindex`).
PostgreSQL: a GIN index on to_tsvector('simple', <body with punctuation as spaces>); nothing
to fill, nothing to unindex. (Without the punctuation step PostgreSQL's parser keeps
"/var/log", "a.b.com" or "x@y.z" as single tokens, and "log" would not find them.)
Both are created by migration 0002, only on their own database; the expression here must stay
the one indexed there.

A search is plain words, ANDed, case-insensitive: punctuation separates words and is never
query syntax, so no input can make a malformed query.
"""

import re

from django.db import connection
from django.db.models import BooleanField, QuerySet
from django.db.models.expressions import RawSQL

FTS_TABLE = "logs_logrecord_fts"
PG_INDEX = "logs_record_body_fts"
# Words are runs of letters and digits: what both FTS5's unicode61 and PostgreSQL's parser index.
_WORD = re.compile(r"[^\W_]+")
PG_DOCUMENT = "to_tsvector('simple', regexp_replace(logs_logrecord.body, '[[:punct:]]', ' ', 'g'))"
_PG_MATCH = f"{PG_DOCUMENT} @@ plainto_tsquery('simple', %s)"
_SQLITE_MATCH = f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s"  # noqa: S608


def words(q: str) -> list[str]:
    """Return the searchable words of `q`, lower-cased, in order, without repeats."""
    return list(dict.fromkeys(word.lower() for word in _WORD.findall(q)))


def matching(records: QuerySet, q: str) -> QuerySet:
    """Narrow `records` to those whose body holds every word of `q` (none if it has no word)."""
    terms = words(q)
    if not terms:
        return records.none()
    if connection.vendor == "postgresql":
        match = RawSQL(_PG_MATCH, [" ".join(terms)], output_field=BooleanField())  # noqa: S611
        return records.filter(match)
    # Each word double-quoted: an FTS5 string, never an operator (NEAR, AND, *, -, ^, :).
    expression = " ".join(f'"{term}"' for term in terms)
    return records.filter(id__in=RawSQL(_SQLITE_MATCH, [expression]))  # noqa: S611


def index_after(cursor, last_id: int) -> None:
    """Index the bodies of the log records with ids above `last_id` (SQLite; a no-op elsewhere)."""
    if connection.vendor != "sqlite":
        return
    cursor.execute(
        f"INSERT INTO {FTS_TABLE} (rowid, body)"  # noqa: S608
        " SELECT id, body FROM logs_logrecord WHERE id > %s",
        [last_id],
    )


def unindex(cursor, ids_sql: str, params: list) -> None:
    """Remove from the index the records that `ids_sql` selects, before they are deleted."""
    if connection.vendor != "sqlite":
        return
    cursor.execute(
        f"INSERT INTO {FTS_TABLE} ({FTS_TABLE}, rowid, body)"  # noqa: S608
        f" SELECT 'delete', id, body FROM logs_logrecord WHERE id IN ({ids_sql})",
        params,
    )
