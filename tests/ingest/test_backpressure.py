"""A database held locked past the busy timeout makes ingest answer 503 with Retry-After,
which OpenTelemetry exporters retry, instead of queueing requests without bound."""

import pytest

from tests.conftest import key_client
from tests.support.locks import write_lock_held

pytestmark = pytest.mark.django_db(transaction=True)

BATCH = {"points": [{"name": "held", "type": "gauge", "value": 1}]}


@pytest.fixture
def ingest_key(make_key):
    return make_key("ingest")


@pytest.fixture
def locked_database(ingest_key):
    """Another connection holds the write lock; this one gives up waiting after 200 ms."""
    with write_lock_held("metrics_point"):
        yield


def test_a_locked_database_gives_503_with_retry_after(ingest_key, locked_database):
    response = key_client(ingest_key).post(
        "/api/v1/ingest/metrics", BATCH, content_type="application/json"
    )

    assert response.status_code == 503
    assert response["Retry-After"] == "1"
    assert response.json()["error"]["code"] == "unavailable"


def test_ingest_works_again_once_the_lock_is_gone(make_key):
    response = key_client(make_key("ingest")).post(
        "/api/v1/ingest/metrics", BATCH, content_type="application/json"
    )

    assert response.status_code == 200
