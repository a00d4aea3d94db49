"""One Redis client per process, on REDIS_URL (the bundled server by default)."""

import functools

import redis
from django.conf import settings


@functools.cache
def redis_client() -> redis.Redis:
    """Return this process's Redis client (connections are pooled and made lazily)."""
    return redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
