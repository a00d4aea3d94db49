"""A database held locked past the busy timeout: test-run ingest answers 503, stores nothing."""

import pytest

from apps.testruns.models import Run
from tests.conftest import key_client
from tests.support.locks import write_lock_held
from tests.testruns.support import case, post_json, run_body

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def ingest_key(make_key):
    return make_key("ingest")


@pytest.fixture
def locked_database(ingest_key):
    """Another connection holds the write lock; this one gives up waiting after 200 ms."""
    with write_lock_held("testruns_run"):
        yield


def test_a_locked_database_gives_503_with_retry_after(ingest_key, locked_database):
    response = post_json(key_client(ingest_key), run_body([case("test_a")]))

    assert response.status_code == 503
    assert response["Retry-After"] == "1"
    assert response.json()["error"]["code"] == "unavailable"


def test_the_run_is_stored_once_the_lock_is_gone(ingest_key):
    response = post_json(key_client(ingest_key), run_body([case("test_a")]))

    assert response.status_code == 200
    assert Run.objects.count() == 1
