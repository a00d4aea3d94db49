"""The SDK against a live aivmon: ObservabilitySystems with a private spool, a read client."""

from collections.abc import Callable

import pytest
from aivmon_sdk import ObservabilitySystem
from django.test import Client

from tests.conftest import key_client


@pytest.fixture
def reader(make_key) -> Client:
    return key_client(make_key("read"))


@pytest.fixture
def make_obs(make_key, tmp_path, request) -> Callable[..., ObservabilitySystem]:
    """Build an ObservabilitySystem for a service on an aivmon base URL; shut down at the end."""

    def make(service: str, endpoint: str, **options) -> ObservabilitySystem:
        options = {
            "spool_path": tmp_path / f"{service}.spool",
            "flush_interval": 3600.0,  # the tests flush (drain)
            "replay_min_backoff_s": 0.2,
            "replay_max_backoff_s": 1.0,
            "set_global": False,
            "install_exit_handlers": False,
            **options,
        }
        obs = ObservabilitySystem(service, endpoint, make_key("ingest"), **options)
        request.addfinalizer(obs.shutdown)
        return obs

    return make
