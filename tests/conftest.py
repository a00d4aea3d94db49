"""Shared test setup: a real Redis on 127.0.0.1, a user and a client per role, API keys."""

import shutil
import sys
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from hypothesis import settings as hypothesis_settings

from apps.accounts import services
from apps.core import bundled_redis
from apps.core.redis import redis_client
from apps.security.scoring import thresholds_forget
from tests.factories import UserFactory
from tests.support.processes import ManagedProcess

# No property is timed: speed is measured by `make bench`, and a deadline per example only makes
# a loaded machine (CI runs the SQLite and PostgreSQL suites side by side) fail at random.
hypothesis_settings.register_profile("aivmon", deadline=None)
hypothesis_settings.load_profile("aivmon")


@pytest.fixture(scope="session", autouse=True)
def redis_server():
    """Start the bundled redis-server on the port the test settings chose (unless external)."""
    if settings.AIVMON_TEST_REDIS_EXTERNAL:
        yield settings.REDIS_URL
        return
    data_dir = Path(tempfile.mkdtemp(prefix="aivmon-redis-"))
    process = bundled_redis.start(port=settings.AIVMON_TEST_REDIS_PORT, data_dir=data_dir)
    yield settings.REDIS_URL
    process.terminate()
    process.wait(timeout=10)
    shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(autouse=True)
def _empty_redis(redis_server):
    redis_client().flushdb()


@pytest.fixture(autouse=True)
def _no_cached_api_keys():
    services.api_key_cache_clear()


@pytest.fixture(autouse=True)
def _no_cached_thresholds():
    yield
    thresholds_forget()


@pytest.fixture
def viewer(db):
    return UserFactory(username="vera", role="viewer")


@pytest.fixture
def operator(db):
    return UserFactory(username="otto", role="operator")


@pytest.fixture
def admin_user(db):
    return UserFactory(username="ada", role="admin")


@pytest.fixture
def no_role_user(db):
    return UserFactory(username="nora")


def _signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def viewer_client(viewer):
    return _signed_in(viewer)


@pytest.fixture
def operator_client(operator):
    return _signed_in(operator)


@pytest.fixture
def admin_client(admin_user):
    return _signed_in(admin_user)


@pytest.fixture
def make_key(db):
    """Create an API key with the given scopes; return the full key text."""

    def make(*scopes: str, **kwargs) -> str:
        _, raw = services.api_key_create(
            name=kwargs.pop("name", "test key"), scopes=list(scopes), **kwargs
        )
        return raw

    return make


def key_client(raw_key: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw_key}")


@pytest.fixture
def start_process(transactional_db, tmp_path, request):
    """Start an aivmon subprocess on the test Redis and database; stopped when the test ends.

    Depends on transactional_db so that the process sees committed rows, and stops before the
    test database is flushed.
    """

    def start(name: str, argv: list[str]) -> ManagedProcess:
        process = ManagedProcess(name, argv, tmp_path / f"{name}.log")
        request.addfinalizer(process.stop)
        return process

    return start


CELERY_QUEUES = "ingest,detect,alerts,maintenance"


@pytest.fixture
def start_celery(start_process) -> Callable[..., ManagedProcess]:
    """Start `python -m celery -A aivmon <args>`, stopped when the test ends."""

    def start(name: str, *args: str) -> ManagedProcess:
        argv = [sys.executable, "-m", "celery", "-A", "aivmon", *args, "--loglevel=INFO"]
        return start_process(name, argv)

    return start


# As the Procfile starts a worker: aivmon uses neither gossip nor mingle, and gossip's restart
# after a broker outage can end the worker (kombu issue 582).
WORKER_OPTIONS = ("--without-gossip", "--without-mingle")


@pytest.fixture
def celery_worker(start_celery) -> ManagedProcess:
    return start_celery(
        "worker",
        "worker",
        *WORKER_OPTIONS,
        "--pool=solo",
        "--concurrency=1",
        "-Q",
        CELERY_QUEUES,
        "-n",
        f"test-{uuid.uuid4().hex[:8]}@%h",
    )
