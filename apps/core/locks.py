"""Single-flight for periodic jobs: a Redis lock so that two beats or workers never run the
same job at once. A holder that dies releases the lock when its timeout ends."""

from collections.abc import Iterator
from contextlib import contextmanager

from apps.core.redis import redis_client


@contextmanager
def single_flight(name: str, *, timeout_s: int) -> Iterator[bool]:
    """Yield True when this process holds the lock `name` (released after), else False."""
    lock = redis_client().lock(f"aivmon:lock:{name}", timeout=timeout_s, blocking=False)
    acquired = lock.acquire()
    try:
        yield acquired
    finally:
        if acquired:
            lock.release()
