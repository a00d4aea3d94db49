"""Full-text search over log bodies, made on each database its own way.

SQLite: an FTS5 table with the log id as rowid, external content (the text stays in
logs_logrecord), accents kept as PostgreSQL keeps them; filled from any records already stored.
PostgreSQL: a GIN index on the expression that apps.logs.fulltext queries: the body with
punctuation turned into spaces, as a 'simple' tsvector.
"""

from django.db import migrations

SQLITE_CREATE = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS logs_logrecord_fts USING fts5("
    "body, content='logs_logrecord', content_rowid='id',"
    " tokenize='unicode61 remove_diacritics 0')"
)
SQLITE_FILL = "INSERT INTO logs_logrecord_fts (logs_logrecord_fts) VALUES ('rebuild')"
SQLITE_DROP = "DROP TABLE IF EXISTS logs_logrecord_fts"
POSTGRESQL_CREATE = (
    "CREATE INDEX IF NOT EXISTS logs_record_body_fts ON logs_logrecord USING gin"
    " (to_tsvector('simple', regexp_replace(body, '[[:punct:]]', ' ', 'g')))"
)
POSTGRESQL_DROP = "DROP INDEX IF EXISTS logs_record_body_fts"


def create_fulltext(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        schema_editor.execute(SQLITE_CREATE)
        schema_editor.execute(SQLITE_FILL)
    elif vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_CREATE, params=None)


def drop_fulltext(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        schema_editor.execute(SQLITE_DROP)
    elif vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_DROP)


class Migration(migrations.Migration):
    dependencies = [("logs", "0001_initial")]

    operations = [migrations.RunPython(create_fulltext, drop_fulltext)]
