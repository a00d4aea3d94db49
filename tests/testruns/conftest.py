import pytest

from tests.conftest import key_client


@pytest.fixture
def ingest(make_key):
    """A client with an ingest-scoped key."""
    return key_client(make_key("ingest"))
