"""One Redis client per process, on REDIS_URL (the bundled server by default)."""

import functools
import threading

import redis
from django.conf import settings

_first_call = threading.Lock()


def redis_client() -> redis.Redis:
    """Return this process's Redis client (connections are pooled and made lazily)."""
    # functools.cache alone lets threads that call at once each build a client; a client that
    # loses the race is garbage-collected, and redis-py's Redis.__del__ closes its pool, which
    # disconnected a connection another thread was using (a 500 in a fresh gunicorn worker).
    with _first_call:
        return _client()


@functools.cache
def _client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2)


redis_client.cache_clear = _client.cache_clear  # type: ignore[attr-defined]
