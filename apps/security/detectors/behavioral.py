"""Behaviour: activity in hours a user rarely works (weighted up for admin and destructive
operations), and runs of denied or failed operations in a sliding window.

Active hours: once a user has min_learned_events, an hour holding less than rare_hour_share of
them is off-hours; before that, hours outside business hours are. Learned hours ignore the day
of the week. Off-hours scores by risk: activity 0.3 (by business hours) or 0.4 (learned), an
admin operation 0.6, a destructive one 0.78; in usual hours any of them is nothing.

A failed operation is an event of type "permission_denied", or any other event except
auth_failure (brute_force owns those) whose details hold {"success": False} or an integer
"status" / "status_code" >= 400. Runs are counted per user (per IP for events without one).
Failed operations neither teach hours nor count as off-hours.

Keys: aivmon:sec:bh:hours:<user>  hash hour (0–23, in the detector's timezone) → events seen,
          expiring history_ttl_s after the user's last event
      aivmon:sec:bh:fail:<ip|user>:<who>  sorted set of failed operations (see windows.py)
"""

import re
from collections.abc import Callable, Collection, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from redis import Redis

from .base import IP, USER, Detection, Event
from .windows import (
    SCRIPT_HEAD,
    SCRIPT_TAIL,
    Batch,
    Plan,
    SlidingWindow,
    key,
    member,
    rising,
    run_plans,
)

Judge = Callable[[list[Any]], list[Detection]]
DESTRUCTIVE_WORDS = frozenset({"delete", "drop", "truncate", "purge", "destroy", "erase"})
DENIED_STATUSES = frozenset({401, 403})
# Sliding-window records (windows.py) and hours records: 'h', key index, hour, ttl, whose two
# replies are the user's events counted before this one and those of them in this hour.
SCRIPT = (
    SCRIPT_HEAD
    + """
local function hours(i)
  local name, hour = KEYS[A[i + 1]], text(A[i + 2])
  local seen, total, here = redis.call('HGETALL', name), 0, 0
  for j = 1, #seen, 2 do
    local n = tonumber(seen[j + 1])
    total = total + n
    if seen[j] == hour then here = n end
  end
  redis.call('HINCRBY', name, hour, '1')
  expiring[name] = A[i + 3]
  out[#out + 1] = total
  out[#out + 1] = here
  return i + 4
end
local i = 1
while i <= #A do
  if A[i] == 'h' then i = hours(i) else i = window(i) end
end
"""
    + SCRIPT_TAIL
)


def is_destructive(event: Event) -> bool:
    """Whether the event deletes: method DELETE, or a destructive word in endpoint or action."""
    action = event.details.get("action")
    texts = (event.endpoint, action if isinstance(action, str) else "")
    if event.method.upper() == "DELETE":
        return True
    return any(_words(text) & DESTRUCTIVE_WORDS for text in texts)


def _words(text: str) -> set[str]:
    """Split text into lowercase words, camelCase too: "bulkDelete_all" → bulk, delete, all."""
    return set(re.findall(r"[a-z]+", re.sub(r"(?<=[a-z])(?=[A-Z])", " ", text).lower()))


def failure_status(event: Event) -> int | None:
    """The event's integer HTTP status from details, if any."""
    status = event.details.get("status", event.details.get("status_code"))
    return status if isinstance(status, int) and not isinstance(status, bool) else None


def is_failure(event: Event) -> bool:
    if event.event_type == "permission_denied":
        return True
    status = failure_status(event)
    failed = event.details.get("success") is False or (status is not None and status >= 400)
    return failed and event.event_type != "auth_failure"


class BehavioralDetector:
    name = "behavioral"

    def __init__(
        self,
        *,
        redis: Redis,
        timezone: str = "UTC",
        business_hours: tuple[int, int] = (8, 19),
        business_days: Collection[int] = (0, 1, 2, 3, 4),  # Monday is 0
        min_learned_events: int = 50,
        rare_hour_share: float = 0.02,
        history_ttl_s: int = 30 * 86400,
        failure_window_s: float = 600.0,
        lateness_s: float = 600.0,
        medium_failures: int = 5,
        high_failures: int = 10,
    ) -> None:
        self.redis = redis
        self.tz = ZoneInfo(timezone)
        self.business_hours, self.business_days = business_hours, frozenset(business_days)
        self.min_learned_events, self.rare_hour_share = min_learned_events, rare_hour_share
        self.history_ttl_s = history_ttl_s
        self.window = SlidingWindow(failure_window_s, lateness_s)
        self.medium_failures, self.high_failures = medium_failures, high_failures

    def analyse(self, events: Sequence[Event]) -> list[list[Detection]]:
        return run_plans(self.redis, [self.plan(events)])[0]

    def plan(self, events: Sequence[Event]) -> Plan:
        """Queue the batch's hours and window operations; the plan judges every event."""
        batch = Batch(self.redis, SCRIPT)
        times: dict[float, datetime] = {}  # a batch's events share a few times
        judges = [self._queue(batch, event, times) for event in events]
        return Plan(batch, lambda replies: [judge(replies) for judge in judges])

    def _queue(self, batch: Batch, event: Event, times: dict[float, datetime]) -> Judge:
        if is_failure(event):
            key_type, who = (USER, event.user_id) if event.user_id else (IP, event.source_ip)
            if not who:
                return lambda replies: []
            fails = ("add", key("bh", "fail", key_type, who), member(event))
            at = batch.windows(self.window, event.timestamp, fails)
            return lambda replies: self._judge_failures(event, key_type, who, replies[at][0])
        if not event.user_id or event.event_type == "auth_failure":
            return lambda replies: []
        local = times.get(event.timestamp)
        if local is None:
            local = times[event.timestamp] = self.local_time(event)
        hours = batch.key(key("bh", "hours", event.user_id))
        # Counted before this event is added: it is judged on the past.
        at = batch.record(2, "h", hours, local.hour, self.history_ttl_s)
        return lambda replies: self._judge_hours(event, local, *replies[at])

    def local_time(self, event: Event) -> datetime:
        return datetime.fromtimestamp(event.timestamp, self.tz)

    def _judge_hours(
        self, event: Event, local: datetime, total: int, this_hour: int
    ) -> list[Detection]:
        user = event.user_id
        if total >= self.min_learned_events:
            share = this_hour / total
            if share >= self.rare_hour_share:
                return []
            why, plain_score = f"an hour {user} rarely works ({share:.1%} of {total} events)", 0.4
        elif self._in_business_hours(local):
            return []
        else:
            why, plain_score = "outside business hours", 0.3
        what, score = self._weigh(event, plain_score)
        reason = f"{what} by {user} at {local:%a %H:%M} {self.tz.key}, {why}"
        return [Detection(self.name, score, reason, "off_hours", USER, user)]

    def _in_business_hours(self, local: datetime) -> bool:
        start, end = self.business_hours
        return local.weekday() in self.business_days and start <= local.hour < end

    def _weigh(self, event: Event, plain_score: float) -> tuple[str, float]:
        """Describe the event and score it off-hours by its risk."""
        operation = f"{event.method} {event.endpoint}".strip()
        if is_destructive(event):
            return f"destructive operation {operation}".strip(), 0.78
        if event.event_type == "admin_operation":
            return f"admin operation {operation}".strip(), 0.6
        return f"{event.event_type} {operation}".strip(), plain_score

    def _judge_failures(self, event: Event, key_type: str, who: str, count: int) -> list[Detection]:
        if count >= self.high_failures:
            score = rising(count, self.high_failures, base=0.78, step=0.01, cap=0.86)
        elif count >= self.medium_failures:
            score = rising(count, self.medium_failures, base=0.55, step=0.03, cap=0.7)
        else:
            return []
        denied = event.event_type == "permission_denied" or failure_status(event) in DENIED_STATUSES
        kind = "permission_denied_run" if denied else "failed_operations"
        minutes = f"{self.window.window_s / 60:g} min"
        reason = f"{count} denied or failed operations by {who} in {minutes}"
        return [Detection(self.name, round(score, 3), reason, kind, key_type, who)]
