"""One Redis client per process, on REDIS_URL (the bundled server by default)."""

import functools
import threading
import time

import redis
from django.conf import settings
from redis.backoff import ExponentialWithJitterBackoff
from redis.retry import Retry

_first_call = threading.Lock()
# One retry replaces a pooled connection that a Redis restart closed. redis-py's default (ten,
# with backoff, at connect and per command) made a Redis host that drops packets cost every
# request touching it ~26 s with these 2 s timeouts (measured), past any client's timeout.
RETRIES = 1


# After a connect times out (a host gone from the network: every attempt waits the whole connect
# timeout), this process does not try that Redis again for so long: calls fail at once, as they
# do when a connection is refused, instead of each one waiting 2 s more. A refused connection
# costs nothing and does not count: a restarting Redis is used again as soon as it answers.
UNREACHABLE_S = 5.0


_unreachable_until: dict[tuple[object, ...], float] = {}  # per address: time.monotonic()


class _GuardedConnect:
    """A connection that refuses to connect while its Redis is known unreachable."""

    def connect_check_health(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        address = tuple(getattr(self, name, None) for name in ("host", "port", "path"))
        if getattr(self, "_sock", None) is None and (
            time.monotonic() < _unreachable_until.get(address, 0.0)
        ):
            raise redis.ConnectionError(
                f"Redis unreachable: a connect timed out; not tried again for {UNREACHABLE_S:g} s"
            )
        try:
            return super().connect_check_health(*args, **kwargs)  # type: ignore[misc]
        except redis.TimeoutError:
            _unreachable_until[address] = time.monotonic() + UNREACHABLE_S
            raise


@functools.cache
def _guarded(connection_class: type) -> type:
    """The connection class redis-py chose for the URL (TCP, TLS or Unix socket), guarded."""
    return type(f"Guarded{connection_class.__name__}", (_GuardedConnect, connection_class), {})


def redis_client() -> redis.Redis:
    """Return this process's Redis client (connections are pooled and made lazily)."""
    # functools.cache alone lets threads that call at once each build a client; a client that
    # loses the race is garbage-collected, and redis-py's Redis.__del__ closes its pool, which
    # disconnected a connection another thread was using (a 500 in a fresh gunicorn worker).
    with _first_call:
        return _client()


@functools.cache
def _client() -> redis.Redis:
    client = redis.Redis.from_url(
        settings.REDIS_URL,
        socket_connect_timeout=2,
        socket_timeout=2,
        retry=Retry(ExponentialWithJitterBackoff(base=0.01, cap=0.1), RETRIES),
    )
    # No connection is made yet: each one the pool makes from here on is guarded.
    pool = client.connection_pool
    pool.connection_class = _guarded(pool.connection_class)
    return client


redis_client.cache_clear = _client.cache_clear  # type: ignore[attr-defined]
