"""Reads about the platform itself: readiness of its dependencies, worker heartbeat, queues."""

import logging

from django.db import connection
from redis.exceptions import RedisError

from apps.core.constants import HEARTBEAT_KEY, RETENTION_DEFAULTS
from apps.core.models import RetentionPolicy
from apps.core.redis import redis_client

logger = logging.getLogger(__name__)


def heartbeat_last() -> float | None:
    """Return the epoch time of the last worker heartbeat, or None when unknown."""
    try:
        raw = redis_client().get(HEARTBEAT_KEY)
    except RedisError:
        return None
    return float(raw) if raw is not None else None


def queue_depths(queues: list[str]) -> dict[str, int]:
    """Return the number of messages waiting in each Celery queue ({} if Redis is down)."""
    try:
        pipe = redis_client().pipeline()
        for queue in queues:
            pipe.llen(queue)
        return dict(zip(queues, pipe.execute(), strict=True))
    except RedisError:
        return {}


def retention_days(key: str) -> int | None:
    """Return how many days data of `key` is kept (None: forever), per RETENTION_DEFAULTS."""
    found = list(RetentionPolicy.objects.filter(key=key).values_list("days", flat=True)[:1])
    return found[0] if found else RETENTION_DEFAULTS[key][0]


def readiness() -> dict[str, dict]:
    """Check the database and Redis; each entry says ok or the error."""
    return {"database": _check(_ping_database), "redis": _check(_ping_redis)}


def _check(probe) -> dict:
    try:
        probe()
    except Exception as exc:  # any failure of a dependency means not ready
        logger.warning("core.readiness.failed", extra={"probe": probe.__name__, "error": str(exc)})
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    return {"ok": True}


def _ping_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _ping_redis() -> None:
    redis_client().ping()


def retention_cutoff_ns(key: str, *, now_ns: int) -> int | None:
    """Return the epoch-ns time before which data of `key` is past retention (None: keep)."""
    days = retention_days(key)
    return None if days is None else now_ns - days * 86_400 * 1_000_000_000
