"""Writes about the platform itself."""

import time
from collections.abc import Callable

from apps.core.constants import HEARTBEAT_KEY, RETENTION_DEFAULTS
from apps.core.locks import single_flight
from apps.core.models import RetentionPolicy
from apps.core.redis import redis_client


def heartbeat_record(*, at: float | None = None) -> float:
    """Store the time a worker proved it runs tasks; never moves the heartbeat backwards."""
    at = time.time() if at is None else at
    # Lua keeps it a compare-and-set: a late, older heartbeat cannot overwrite a newer one.
    redis_client().eval(_SET_IF_NEWER, 1, HEARTBEAT_KEY, repr(at))
    return at


_SET_IF_NEWER = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > current then redis.call('SET', KEYS[1], ARGV[1]) end
return 1
"""


def retention_ensure_defaults() -> None:
    """Create the retention policies that are missing, with DESIGN.md's defaults."""
    for key, (days, description) in RETENTION_DEFAULTS.items():
        RetentionPolicy.objects.get_or_create(
            key=key, defaults={"days": days, "description": description}
        )


def prune_in_rounds(prune: Callable[[], int], *, max_rounds: int) -> int:
    """Call a bounded prune step until it deletes nothing or max_rounds ran; return the total."""
    total = 0
    for _ in range(max_rounds):
        deleted = prune()
        total += deleted
        if not deleted:
            break
    return total


def prune_locked(name: str, prune: Callable[[], int], *, timeout_s: int, max_rounds: int) -> int:
    """Prune in rounds while holding the single-flight lock `name`; 0 when another run has it."""
    with single_flight(name, timeout_s=timeout_s) as mine:
        return prune_in_rounds(prune, max_rounds=max_rounds) if mine else 0
