"""One Redis client per process, on REDIS_URL (the bundled server by default)."""

import functools
import threading

import redis
from django.conf import settings
from redis.backoff import ExponentialWithJitterBackoff
from redis.retry import Retry

_first_call = threading.Lock()
# One retry replaces a pooled connection that a Redis restart closed. redis-py's default (ten,
# with backoff, at connect and per command) made a Redis host that drops packets cost every
# request touching it ~26 s with these 2 s timeouts (measured), past any client's timeout.
RETRIES = 1


def redis_client() -> redis.Redis:
    """Return this process's Redis client (connections are pooled and made lazily)."""
    # functools.cache alone lets threads that call at once each build a client; a client that
    # loses the race is garbage-collected, and redis-py's Redis.__del__ closes its pool, which
    # disconnected a connection another thread was using (a 500 in a fresh gunicorn worker).
    with _first_call:
        return _client()


@functools.cache
def _client() -> redis.Redis:
    return redis.Redis.from_url(
        settings.REDIS_URL,
        socket_connect_timeout=2,
        socket_timeout=2,
        retry=Retry(ExponentialWithJitterBackoff(base=0.01, cap=0.1), RETRIES),
    )


redis_client.cache_clear = _client.cache_clear  # type: ignore[attr-defined]
