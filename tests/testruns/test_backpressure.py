"""A database held locked past the busy timeout: test-run ingest answers 503, stores nothing."""

import sqlite3

import psycopg
import pytest
from django.db import connection

from apps.testruns.models import Run
from tests.conftest import key_client
from tests.testruns.support import case, post_json, run_body

pytestmark = pytest.mark.django_db(transaction=True)


def _hold_sqlite(settings_dict):
    other = sqlite3.connect(settings_dict["NAME"], isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA busy_timeout = 200")
    return other


def _hold_postgresql(settings_dict):
    other = psycopg.connect(
        host=settings_dict["HOST"],
        port=settings_dict["PORT"],
        user=settings_dict["USER"],
        dbname=settings_dict["NAME"],
    )
    other.execute("LOCK TABLE testruns_run IN ACCESS EXCLUSIVE MODE")
    with connection.cursor() as cursor:
        cursor.execute("SET lock_timeout = '200ms'")
    return other


@pytest.fixture
def ingest_key(make_key):
    return make_key("ingest")


@pytest.fixture
def locked_database(ingest_key):
    """Another connection holds the write lock; this one gives up waiting after 200 ms."""
    connection.ensure_connection()
    hold = {"sqlite": _hold_sqlite, "postgresql": _hold_postgresql}[connection.vendor]
    other = hold(connection.settings_dict)
    yield
    other.rollback() if connection.vendor == "postgresql" else other.execute("ROLLBACK")
    other.close()


def test_a_locked_database_gives_503_with_retry_after(ingest_key, locked_database):
    response = post_json(key_client(ingest_key), run_body([case("test_a")]))

    assert response.status_code == 503
    assert response["Retry-After"] == "1"
    assert response.json()["error"]["code"] == "unavailable"


def test_the_run_is_stored_once_the_lock_is_gone(ingest_key):
    response = post_json(key_client(ingest_key), run_body([case("test_a")]))

    assert response.status_code == 201
    assert Run.objects.count() == 1
