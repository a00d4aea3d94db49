"""Detector tests run on the session's real Redis, flushed before every test."""

import pytest
import redis

from apps.core.redis import redis_client


@pytest.fixture
def detector_redis(redis_server) -> redis.Redis:
    return redis_client()


@pytest.fixture
def detector_keys(detector_redis):
    """Return the detector keys now in Redis with their TTLs in seconds."""

    def keys() -> dict[str, int]:
        names = sorted(detector_redis.scan_iter(match="aivmon:sec:*"))
        return {name.decode(): detector_redis.ttl(name) for name in names}

    return keys
