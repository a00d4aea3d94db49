"""The point head is keyed by shard first (see PointHead) and compacted a shard at a time, each
shard with its own watermark.

The old head is emptied into Point first, and every shard's watermark starts after the newest
point moved, so that no point already in Point is written to the head again. Then the table is
made again, on SQLite WITHOUT ROWID as in 0003 (a later migration that makes Django rebuild
this table on SQLite gives it a rowid again, which stays correct and costs some ingest speed;
recreate it like this then).
"""

import django.db.models.deletion
from django.db import migrations, models

HEAD_SHARDS = 8  # apps.metrics.constants.HEAD_SHARDS when this migration was written

_SQLITE_HEAD = (
    'CREATE TABLE "metrics_pointhead" ("shard" smallint NOT NULL, "ts_ms" bigint NOT NULL, '
    '"value" real NOT NULL, "series_id" bigint NOT NULL, '
    'PRIMARY KEY ("shard", "ts_ms", "series_id")) WITHOUT ROWID'
)


def _empty_head(apps, schema_editor) -> None:
    """Move every head point into Point; start every watermark after the newest one moved."""
    schema_editor.execute(
        'INSERT INTO "metrics_point" ("series_id", "ts_ms", "value") '
        'SELECT "series_id", "ts_ms", "value" FROM "metrics_pointhead" '
        'ORDER BY "series_id", "ts_ms" ON CONFLICT ("series_id", "ts_ms") DO NOTHING'
    )
    schema_editor.execute(
        'UPDATE "metrics_pointheadstate" SET "watermark_ms" = '
        '(SELECT MAX("ts_ms") + 1 FROM "metrics_pointhead") '
        'WHERE "watermark_ms" <= (SELECT MAX("ts_ms") FROM "metrics_pointhead")'
    )
    schema_editor.execute('DELETE FROM "metrics_pointhead"')


def _shard_watermarks(apps, schema_editor) -> None:
    for state_id in range(2, HEAD_SHARDS + 1):
        schema_editor.execute(
            'INSERT INTO "metrics_pointheadstate" ("id", "watermark_ms") '
            'SELECT %s, "watermark_ms" FROM "metrics_pointheadstate" WHERE "id" = 1',
            [state_id],
        )


def _one_watermark(apps, schema_editor) -> None:
    """Back to one watermark (the head is empty by now): after every shard's."""
    schema_editor.execute(
        'UPDATE "metrics_pointheadstate" SET "watermark_ms" = '
        '(SELECT MAX("watermark_ms") FROM "metrics_pointheadstate") WHERE "id" = 1'
    )
    schema_editor.execute('DELETE FROM "metrics_pointheadstate" WHERE "id" > 1')


def _head_without_rowid(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "sqlite":
        return
    schema_editor.execute('DROP TABLE "metrics_pointhead"')
    schema_editor.execute(_SQLITE_HEAD)


class Migration(migrations.Migration):
    dependencies = [
        ("metrics", "0003_point_head"),
    ]

    operations = [
        migrations.RunPython(_empty_head, migrations.RunPython.noop, elidable=False),
        migrations.RunPython(_shard_watermarks, _one_watermark, elidable=False),
        migrations.DeleteModel(name="PointHead"),
        migrations.CreateModel(
            name="PointHead",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "shard",
                        "ts_ms",
                        "series",
                        blank=True,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                ("shard", models.SmallIntegerField()),
                ("ts_ms", models.BigIntegerField()),
                ("value", models.FloatField()),
                (
                    "series",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        to="metrics.series",
                    ),
                ),
            ],
        ),
        migrations.RunPython(_head_without_rowid, _empty_head, elidable=False),
    ]
