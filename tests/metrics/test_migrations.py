"""Migrations that move stored points keep every one of them, once (points have no foreign
key constraint: series 7 need not exist)."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("metrics", "0003_point_head")]
SHARDED = [("metrics", "0004_point_head_shards")]


def _migrate(targets) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


def _watermarks(cursor, marks: dict[int, int]) -> None:
    cursor.execute("DELETE FROM metrics_pointheadstate")
    cursor.executemany(
        "INSERT INTO metrics_pointheadstate (id, watermark_ms) VALUES (%s, %s)", marks.items()
    )


def _rows(sql: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return sorted(cursor.fetchall())


def test_sharding_the_head_moves_its_points_into_point_and_starts_every_shard_after_them():
    _migrate(BEFORE)
    try:
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO metrics_point (series_id, ts_ms, value) VALUES (7, 10, 1)")
            _watermarks(cursor, {1: 20})
            cursor.executemany(
                "INSERT INTO metrics_pointhead (series_id, ts_ms, value) VALUES (%s, %s, %s)",
                [(7, 20, 2.0), (7, 35, 3.0)],
            )

        _migrate(SHARDED)

        assert _rows("SELECT series_id, ts_ms, value FROM metrics_point") == [
            (7, 10, 1.0),
            (7, 20, 2.0),
            (7, 35, 3.0),
        ]
        assert _rows("SELECT * FROM metrics_pointhead") == []
        assert _rows("SELECT id, watermark_ms FROM metrics_pointheadstate") == [
            (shard_id, 36) for shard_id in range(1, 9)
        ]
    finally:
        _migrate(SHARDED)


def test_unsharding_the_head_moves_its_points_into_point_under_one_watermark():
    with connection.cursor() as cursor:
        _watermarks(cursor, {shard_id: 30 if shard_id == 2 else 20 for shard_id in range(1, 9)})
        cursor.executemany(
            "INSERT INTO metrics_pointhead (shard, series_id, ts_ms, value)"
            " VALUES (%s, %s, %s, %s)",
            [(7 % 8, 7, 20, 2.0), (9 % 8, 9, 30, 3.0)],
        )
    try:
        _migrate(BEFORE)

        assert _rows("SELECT series_id, ts_ms, value FROM metrics_point") == [
            (7, 20, 2.0),
            (9, 30, 3.0),
        ]
        assert _rows("SELECT * FROM metrics_pointhead") == []
        assert _rows("SELECT id, watermark_ms FROM metrics_pointheadstate") == [(1, 31)]
    finally:
        _migrate(SHARDED)
