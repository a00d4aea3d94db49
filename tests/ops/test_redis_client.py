"""One Redis client per process, even when the first calls come from several threads at once.

Found by the scale-out test: a fresh gunicorn worker (gthread) answered 500 to an ingest batch
it had stored, with AttributeError: 'NoneType' object has no attribute 'readline' inside
redis-py's connection handshake. functools.cache let concurrent first callers each build a
client; the clients that lost the race were garbage-collected, and redis-py's Redis.__del__
closes its connection pool, which disconnected a connection another thread was using.
"""

import sys
import threading

from apps.core.redis import redis_client

THREADS = 16
ROUNDS = 30


def _first_calls_at_once() -> list:
    """Forget the client, then have THREADS threads ask for it at the same moment."""
    redis_client.cache_clear()
    barrier = threading.Barrier(THREADS)
    clients: list = []

    def first_call() -> None:
        barrier.wait()
        clients.append(redis_client())

    threads = [threading.Thread(target=first_call) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    return clients


def test_threads_calling_it_first_at_once_share_one_client():
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: make any race show
    try:
        rounds = [_first_calls_at_once() for _ in range(ROUNDS)]
    finally:
        sys.setswitchinterval(interval)

    assert [len(clients) for clients in rounds] == [THREADS] * ROUNDS
    assert [len({id(c) for c in clients}) for clients in rounds] == [1] * ROUNDS
    assert rounds[-1][0].ping()
