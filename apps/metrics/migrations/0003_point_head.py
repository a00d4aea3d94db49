"""The point head (see PointHead): a time-ordered table ingest appends to on SQLite.

On SQLite the table is made again WITHOUT ROWID, so that its key is its only B-tree. Django
cannot declare that: a later migration that makes Django rebuild this table on SQLite (altering
a field) gives it a rowid again, which stays correct and costs some ingest speed; recreate it
like this then. The watermark starts after the newest stored point, so that no point already
in Point is ever written to the head again.
"""

import django.db.models.deletion
from django.db import migrations, models

_SQLITE_HEAD = (
    'CREATE TABLE "metrics_pointhead" ("ts_ms" bigint NOT NULL, "value" real NOT NULL, '
    '"series_id" bigint NOT NULL, PRIMARY KEY ("ts_ms", "series_id")) WITHOUT ROWID'
)


def _head_without_rowid(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "sqlite":
        return
    schema_editor.execute('DROP TABLE "metrics_pointhead"')
    schema_editor.execute(_SQLITE_HEAD)


def _watermark_after_stored(apps, schema_editor) -> None:
    schema_editor.execute(
        'INSERT INTO "metrics_pointheadstate" ("id", "watermark_ms") '
        'SELECT 1, COALESCE(MAX("ts_ms") + 1, 0) FROM "metrics_point"'
    )


class Migration(migrations.Migration):
    dependencies = [
        ("metrics", "0002_rollups"),
    ]

    operations = [
        migrations.CreateModel(
            name="PointHeadState",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("watermark_ms", models.BigIntegerField()),
            ],
        ),
        migrations.CreateModel(
            name="PointHead",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "ts_ms",
                        "series",
                        blank=True,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
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
        migrations.RunPython(_head_without_rowid, migrations.RunPython.noop, elidable=False),
        migrations.RunPython(_watermark_after_stored, migrations.RunPython.noop, elidable=False),
    ]
