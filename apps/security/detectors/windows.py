"""Redis plumbing shared by the detectors: key names, event-time sliding windows, one script
call (one round trip) for a whole batch of events, and a score that rises with a count.

Windows run on event time. A window at time t is (t − window_s, t]; events may arrive up to
lateness_s behind the newest one seen, so a sorted set is pruned only below
t − window_s − lateness_s, which no on-time event can still count.

A batch is one Lua script call: the keys it touches in KEYS (each once), and in ARGV[1] one
JSON array of a record per operation (a key by its index in KEYS). The operations run in order;
the answer is one flat array of every operation's replies: the script's own table, integers or
text (no cjson.encode, whose number formatting was a fifth of the script's work). Times travel
as repr() text, so that Redis parses exactly the double Python computed. A key's expiry is set
once, after the last operation on it: the script is atomic, so the keys end as if each operation
had set it.
"""

import functools
import hashlib
import math
import os
import re
import secrets
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import count
from typing import Any, Protocol
from urllib.parse import quote

import orjson
from redis import Redis
from redis.exceptions import NoScriptError

from .base import Event

PREFIX = "aivmon:sec:"
# Expiry is wall-clock while windows are event time: keep idle keys an extra hour so that an
# ingest backlog of up to an hour still finds its windows.
IDLE_GRACE_S = 3600
_PLAIN = re.compile(r"[\w.~/@-]*", re.ASCII)  # what quote() would leave alone anyway


def key(*parts: str) -> str:
    """Return the key for parts, each escaped so that ':' in an IPv6 address cannot collide."""
    return PREFIX + joined(*parts)


def joined(*parts: str) -> str:
    """Return parts escaped and joined as a key holds them: key(a, *parts) is
    key(a) + ":" + joined(*parts), so that keys sharing parts can share their escaping."""
    if _PLAIN.fullmatch("".join(parts)):  # the usual case: no part needs escaping
        return ":".join(parts)
    return ":".join(map(_escape, parts))


def _escape(part: str) -> str:
    return part if _PLAIN.fullmatch(part) else quote(part, safe="/@")


def member(event: Event) -> str:
    """Return the event's sorted-set member: its id, or a fresh one when it has none."""
    if event.event_id:
        return event.event_id
    pid, prefix, numbers = _Members.state
    if pid != os.getpid():  # a forked process draws its own prefix
        pid, prefix, numbers = _Members.state = (os.getpid(), secrets.token_hex(8), count())
    return f"{prefix}{next(numbers):x}"


class _Members:
    """Fresh members: a random 64-bit prefix per process and a counter (uuid4 read the system's
    random source for every event, ~1.5 us). One tuple, so that threads swap it whole."""

    state: tuple[int, str, Iterator[int]] = (0, "", count())


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


# Lua shared by the detectors' scripts: numbers go to Redis commands as text, so a batch's few
# ttls, hours, minutes and counts are converted once each, not at every call.
LUA_TEXT = """local texts = {}
local function text(n)
  local t = texts[n]
  if t == nil then
    t = tostring(n)
    texts[n] = t
  end
  return t
end
"""

# The script's frame: `A` (the records), `expiring` (key → ttl, applied at the end), `out` (the
# flat answer) and `window`, which runs the sliding-window record at A[i] and returns the index
# of the next one. That record: 'w', t, window floor (exclusive), prune horizon (exclusive),
# ttl, n, then n (mode, key index, member) triples. Mode "add" adds member at t; "newest" keeps
# each member's newest time (ZADD GT: the count is then of distinct members); "count" only
# reads. Its replies: one count over (t − window_s, t] per key.
SCRIPT_HEAD = (
    """
local A, expiring, out = cjson.decode(ARGV[1]), {}, {}
"""
    + LUA_TEXT
    + """local function window(i)
  local t, floor, horizon, ttl = A[i + 1], '(' .. A[i + 2], '(' .. A[i + 3], A[i + 4]
  local last = i + 5 + 3 * A[i + 5]
  for j = i + 6, last, 3 do
    local mode, name, member = A[j], KEYS[A[j + 1]], A[j + 2]
    if mode == 'add' then
      redis.call('ZADD', name, t, member)
    elseif mode == 'newest' then
      redis.call('ZADD', name, 'GT', t, member)
    end
    if mode ~= 'count' then
      redis.call('ZREMRANGEBYSCORE', name, '-inf', horizon)
      expiring[name] = ttl
    end
    out[#out + 1] = redis.call('ZCOUNT', name, floor, t)
  end
  return last + 1
end
"""
)
SCRIPT_TAIL = """
for name, ttl in pairs(expiring) do redis.call('EXPIRE', name, text(ttl)) end
return out
"""
WINDOWS_SCRIPT = SCRIPT_HEAD + "local i = 1\nwhile i <= #A do i = window(i) end\n" + SCRIPT_TAIL


class Batch:
    """Operations on a batch of events, sent as one script call. Each queue call returns the
    index of its replies in the answer; run() makes the call alone, run_plans() together with
    other detectors' calls, in one round trip.

    The script goes by EVALSHA, loaded on NOSCRIPT (after a Redis restart): a refused call ran
    nothing, so making it again cannot count an event twice.
    """

    def __init__(self, redis: Redis, script: str = WINDOWS_SCRIPT, *head: Any) -> None:
        """`head`: arguments the script reads first, before its records."""
        self.redis = redis
        self.script = script
        self._keys: dict[str, int] = {}
        self._args: list[Any] = list(head)
        self._sizes: list[int] = []

    def key(self, name: str) -> int:
        """Return name's index in KEYS (1-based, as Lua counts), adding it the first time."""
        return self._keys.setdefault(name, len(self._keys) + 1)

    def record(self, replies: int, *args: Any) -> int:
        """Queue one record, answering `replies` values."""
        self._args.extend(args)
        self._sizes.append(replies)
        return len(self._sizes) - 1

    def windows(self, window: SlidingWindow, t: float, *entries: tuple[str, str, str]) -> int:
        """Queue (mode, key, member) entries at event time t; the reply lists each key's count
        over (t − window_s, t]. A late event's "newest" count misses members seen again since."""
        t = float(t)
        bounds = (repr(t), repr(t - window.window_s), repr(t - window.window_s - window.lateness_s))
        triples = [part for mode, name, who in entries for part in (mode, self.key(name), who)]
        return self.record(len(entries), "w", *bounds, window.ttl_s, len(entries), *triples)

    def run(self) -> list[list[Any]]:
        return run_plans(self.redis, [Plan(self, lambda replies: replies)])[0]

    def call(self) -> tuple[Any, ...] | None:
        """The EVALSHA arguments, or None when there is nothing to send."""
        if not self._sizes:
            return None
        # Keys as bytes: the client packs bytes a third faster (a thousand keys a batch).
        keys = [name.encode() for name in self._keys]
        return (_sha(self.script), len(keys), *keys, orjson.dumps(self._args))

    def replies(self, answer: list[Any] | None) -> list[list[Any]]:
        """Cut the script's flat answer into each record's replies."""
        flat = answer or []
        replies, at = [], 0
        for size in self._sizes:
            replies.append(flat[at : at + size])
            at += size
        return replies


class Planner(Protocol):
    """A Redis-backed detector: besides analyse(), it can plan its work on a batch, so that
    several detectors' script calls share one round trip (run_plans)."""

    def plan(self, events: Sequence[Event]) -> "Plan":
        """Queue the batch's operations; the plan's judge answers one list per event."""
        ...


@dataclass(frozen=True, slots=True)
class Plan:
    """A detector's work on a batch: its script call, and what turns the replies into answers."""

    batch: Batch
    judge: Callable[[list[list[Any]]], Any]


def run_plans(redis: Redis, plans: Sequence[Plan]) -> list[Any]:
    """Make every plan's script call in one round trip; return each plan's judgement."""
    return plans_judge(plans, plans_execute(redis, plans))


def plans_execute(redis: Redis, plans: Sequence[Plan]) -> list[Any]:
    """Make every plan's script call in one round trip; return each call's answer (None for a
    plan with nothing to send)."""
    calls = {at: call for at, plan in enumerate(plans) if (call := plan.batch.call())}
    answers: list[Any] = [None] * len(plans)
    if calls:
        pipe = redis.pipeline(transaction=False)
        for call in calls.values():
            pipe.execute_command("EVALSHA", *call)
        made = pipe.execute(raise_on_error=False)
        for (at, call), answer in zip(calls.items(), made, strict=True):
            answers[at] = _answer(redis, plans[at].batch.script, call, answer)
    return answers


def plans_judge(plans: Sequence[Plan], answers: Sequence[Any]) -> list[Any]:
    """Return each plan's judgement of its call's answer (plans_execute)."""
    return [
        plan.judge(plan.batch.replies(answer)) for plan, answer in zip(plans, answers, strict=True)
    ]


def _answer(redis: Redis, script: str, call: tuple[Any, ...], answer: Any) -> Any:
    if isinstance(answer, NoScriptError):  # Redis lost its scripts (a restart): load, call again
        redis.script_load(script)
        return redis.execute_command("EVALSHA", *call)
    if isinstance(answer, Exception):
        raise answer
    return answer


@functools.cache
def _sha(script: str) -> str:
    return hashlib.sha1(script.encode(), usedforsecurity=False).hexdigest()
