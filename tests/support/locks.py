"""Holding the database's write lock from a second connection, as a busy writer would."""

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from django.db import connection


def _hold_sqlite(settings_dict: dict, table: str):
    other = sqlite3.connect(settings_dict["NAME"], isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # SQLite locks the whole database, whatever the table
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA busy_timeout = 200")
    return other


def _hold_postgresql(settings_dict: dict, table: str):
    other = psycopg.connect(
        host=settings_dict["HOST"],
        port=settings_dict["PORT"],
        user=settings_dict["USER"],
        dbname=settings_dict["NAME"],
    )
    other.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
    with connection.cursor() as cursor:
        cursor.execute("SET lock_timeout = '200ms'")
    return other


@contextmanager
def write_lock_held(table: str) -> Iterator[None]:
    """Another connection holds the write lock on `table`; ours gives up after 200 ms."""
    connection.ensure_connection()
    hold = {"sqlite": _hold_sqlite, "postgresql": _hold_postgresql}[connection.vendor]
    other = hold(connection.settings_dict, table)
    try:
        yield
    finally:
        other.rollback() if connection.vendor == "postgresql" else other.execute("ROLLBACK")
        other.close()
