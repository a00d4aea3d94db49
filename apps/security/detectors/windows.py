"""Redis plumbing shared by the detectors: key names, event-time sliding windows, one pipeline
(one round trip) for a whole batch of events, and a score that rises with a count.

Windows run on event time. A window at time t is (t − window_s, t]; events may arrive up to
lateness_s behind the newest one seen, so a sorted set is pruned only below
t − window_s − lateness_s, which no on-time event can still count.
"""

import math
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from redis import Redis

from .base import Event

PREFIX = "aivmon:sec:"
# Expiry is wall-clock while windows are event time: keep idle keys an extra hour so that an
# ingest backlog of up to an hour still finds its windows.
IDLE_GRACE_S = 3600
_PLAIN = re.compile(r"[\w.~/@-]*", re.ASCII)  # what quote() would leave alone anyway


def key(*parts: str) -> str:
    """Return the key for parts, each escaped so that ':' in an IPv6 address cannot collide."""
    return PREFIX + ":".join(map(_escape, parts))


def _escape(part: str) -> str:
    return part if _PLAIN.fullmatch(part) else quote(part, safe="/@")


def member(event: Event) -> str:
    """Return the event's sorted-set member: its id, or a fresh one when it has none."""
    return event.event_id or uuid.uuid4().hex


def rising(count: int, threshold: int, *, base: float, step: float, cap: float) -> float:
    """Return the score base at threshold, growing by step a count above it, never above cap."""
    return min(cap, base + step * (count - threshold))


@dataclass(frozen=True, slots=True)
class SlidingWindow:
    window_s: float
    lateness_s: float = 600.0

    @property
    def ttl_s(self) -> int:
        return math.ceil(self.window_s + self.lateness_s) + IDLE_GRACE_S


# KEYS: one sorted set per entry. ARGV: t, window floor (exclusive), prune horizon (exclusive),
# ttl, then a (mode, member) pair per key. Mode "add" adds member at t; "newest" keeps each
# member's newest time (ZADD GT: the count is then of distinct members); "count" only reads.
# Returns one count per key.
WINDOWS_SCRIPT = """
local t, floor, horizon, ttl = ARGV[1], '(' .. ARGV[2], '(' .. ARGV[3], ARGV[4]
local counts = {}
for i, key in ipairs(KEYS) do
  local mode, member = ARGV[3 + 2 * i], ARGV[4 + 2 * i]
  if mode == 'add' then
    redis.call('ZADD', key, t, member)
  elseif mode == 'newest' then
    redis.call('ZADD', key, 'GT', t, member)
  end
  if mode ~= 'count' then
    redis.call('ZREMRANGEBYSCORE', key, '-inf', horizon)
    redis.call('EXPIRE', key, ttl)
  end
  counts[i] = redis.call('ZCOUNT', key, floor, t)
end
return counts
"""


class Batch:
    """Commands for a batch of events on one pipeline: one round trip. Each queue call returns
    the index of its reply in run()'s answer.

    Scripts go by EVAL with their source, not EVALSHA: Redis caches the compiled script by
    hash, the extra bytes cost nothing measurable, and no NOSCRIPT can strike after a restart
    halfway through a batch of commands that must not run twice.
    """

    def __init__(self, redis: Redis) -> None:
        self._pipe = redis.pipeline(transaction=False)
        self._size = 0

    def command(self, *args: Any) -> int:
        self._pipe.execute_command(*args)
        self._size += 1
        return self._size - 1

    def script(self, source: str, keys: Sequence[str], *args: Any) -> int:
        return self.command("EVAL", source, len(keys), *keys, *args)

    def windows(self, window: SlidingWindow, t: float, *entries: tuple[str, str, str]) -> int:
        """Queue (mode, key, member) entries at event time t; the reply lists each key's count
        over (t − window_s, t]. A late event's "newest" count misses members seen again since."""
        t = float(t)
        bounds = (repr(t), repr(t - window.window_s), repr(t - window.window_s - window.lateness_s))
        keys = [key for _, key, _ in entries]
        modes_and_members = [part for mode, _, member in entries for part in (mode, member)]
        return self.script(WINDOWS_SCRIPT, keys, *bounds, window.ttl_s, *modes_and_members)

    def run(self) -> list[Any]:
        return self._pipe.execute() if self._size else []
