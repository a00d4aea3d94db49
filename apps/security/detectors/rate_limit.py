"""Rate limits: per-minute request counts per (user or IP, endpoint) against a learned baseline,
and many distinct IPs on one endpoint in a minute (DDoS suspicion).

What counts as a request: every event of type "request" and every other event that names an
endpoint (a login or an admin operation is a request too); the principal is the user when the
event has one, else the IP. Requests are bucketed by event-time minute (this is a rate, not a
sliding window).

The baseline is an EWMA of completed active minutes (minutes with no requests are not samples)
and an EWMA of their absolute deviation. A minute completes when a later minute starts for that
key; events arriving after that (up to lateness_s) still count in their minute's bucket but no
longer reach the baseline. One Lua script call a batch keeps counts and baselines consistent
between workers: one round trip.

DDoS suspicion is keyed by the IP of each event in the flood (kind "ddos", the endpoint in the
reason): no single IP is shown to be an attacker, so it scores medium.

Keys (parts escaped by windows.key):
    aivmon:sec:rl:n:<ip|user>:<who>:<endpoint>:<minute>  counter, expires lateness_s + 2 min
    aivmon:sec:rl:base:<ip|user>:<who>:<endpoint>   hash minute/count/mean/dev/n, baseline_ttl_s
    aivmon:sec:rl:ips:<endpoint>:<minute>  HyperLogLog   rl:ipbase:<endpoint>  hash, as above
"""

import functools
from collections.abc import Sequence
from typing import Any, NamedTuple

from redis import Redis

from .base import IP, USER, Detection, Event
from .windows import LUA_TEXT, Batch, Plan, joined, key, run_plans

# KEYS: buckets and baseline hashes, each once. ARGV[1], a JSON array: alpha, bucket ttl,
# baseline ttl, the learned minutes a flood needs, then a record per (event, counted key): bucket
# index, baseline index, minute, member. An empty member counts requests (INCR); else it is an IP
# counted distinctly (PFADD). A baseline holds the open minute and its value so far, folded into
# the EWMAs when a later minute starts; it is read and written once a batch, its numbers kept as
# the text stored, so that it ends as if written at every event. Answers 4 values a record: this
# minute's value so far, and the baseline of the minutes before it (mean and dev as that text).
# PFCOUNT is the costly command (a recount whenever PFADD changed a register), so distinct IPs
# are counted only when needed: for a judgement (-1 while too few minutes are learned to judge
# a flood), and for the baseline when its minute ends or the batch does.
MINUTE_SCRIPT = (
    """
local A, out, states, buckets, distinct, stale = cjson.decode(ARGV[1]), {}, {}, {}, {}, {}
local alpha, min_samples = A[1], A[4]
"""
    + LUA_TEXT
    + """local bucket_ttl, baseline_ttl = text(A[2]), text(A[3])
local function load(baseline)
  local s = redis.call('HMGET', baseline, 'minute', 'count', 'mean', 'dev', 'n')
  return {open = tonumber(s[1]), done = tonumber(s[2]) or 0,
          mean = s[3] or '0', dev = s[4] or '0', n = tonumber(s[5]) or 0, dirty = false}
end
local function count(bucket)
  if stale[bucket] ~= false then
    distinct[bucket], stale[bucket] = redis.call('PFCOUNT', bucket), false
  end
  return distinct[bucket]
end
for i = 5, #A, 4 do
  local bucket, baseline, minute, member = KEYS[A[i]], KEYS[A[i + 1]], A[i + 2], A[i + 3]
  local current
  if member == '' then
    current = redis.call('INCR', bucket)
  elseif redis.call('PFADD', bucket, member) == 1 then
    stale[bucket] = true
  end
  buckets[bucket] = true
  local s = states[baseline]
  if s == nil then
    s = load(baseline)
    states[baseline] = s
  end
  if s.open == nil or minute > s.open then
    local done = s.done or count(s.bucket)
    if done > 0 then  -- else mean and dev stay as stored (the text tostring wrote)
      local mean, dev = tonumber(s.mean), tonumber(s.dev)
      if s.n == 0 then
        mean = done
      else
        dev = (1 - alpha) * dev + alpha * math.abs(done - mean)
        mean = (1 - alpha) * mean + alpha * done
      end
      s.n, s.mean, s.dev = s.n + 1, tostring(mean), tostring(dev)
    end
    s.open, s.done, s.bucket, s.dirty = minute, current, bucket, true
  elseif minute == s.open then
    s.done, s.bucket, s.dirty = current, bucket, true
  end
  if current == nil and s.n >= min_samples then current = count(bucket) end
  out[#out + 1] = current or -1
  out[#out + 1] = s.mean
  out[#out + 1] = s.dev
  out[#out + 1] = s.n
end
for bucket in pairs(buckets) do redis.call('EXPIRE', bucket, bucket_ttl) end
for baseline, s in pairs(states) do
  if s.dirty then
    redis.call('HSET', baseline, 'minute', text(s.open), 'count', text(s.done or count(s.bucket)),
               'mean', s.mean, 'dev', s.dev, 'n', text(s.n))
  end
  redis.call('EXPIRE', baseline, baseline_ttl)
end
return out
"""
)


class Minute(NamedTuple):
    """One key's value in the event's minute so far, and its baseline of earlier minutes."""

    current: int  # -1: distinct IPs not counted, too few minutes learned to judge a flood
    mean: float
    dev: float
    samples: int  # completed minutes learned

    def usual(self) -> str:
        return f"usually about {self.mean:.0f}" if self.samples else "no baseline yet"


class RateLimitDetector:
    name = "rate_limit"

    def __init__(
        self,
        *,
        redis: Redis,
        floor_per_min: int = 60,
        alpha: float = 0.3,
        medium_devs: float = 4.0,
        high_devs: float = 8.0,
        ddos_min_ips: int = 200,
        ddos_baseline_factor: float = 3.0,
        ddos_min_samples: int = 3,
        lateness_s: float = 600.0,
        baseline_ttl_s: int = 7 * 86400,
    ) -> None:
        self.redis = redis
        self.floor = floor_per_min
        self.alpha = alpha
        self.medium_devs, self.high_devs = medium_devs, high_devs
        self.ddos_min_ips, self.ddos_factor = ddos_min_ips, ddos_baseline_factor
        self.ddos_min_samples = ddos_min_samples
        self.bucket_ttl_s = int(lateness_s) + 120
        self.baseline_ttl_s = baseline_ttl_s

    def analyse(self, events: Sequence[Event]) -> list[list[Detection]]:
        return run_plans(self.redis, [self.plan(events)])[0]

    def plan(self, events: Sequence[Event]) -> Plan:
        """Queue the batch's counts; the plan judges every event on their replies."""
        head = (self.alpha, self.bucket_ttl_s, self.baseline_ttl_s, self.ddos_min_samples)
        batch = Batch(self.redis, MINUTE_SCRIPT, *head)
        queued = [self._queue(batch, event) for event in events]
        return Plan(batch, lambda replies: self._judge_all(events, queued, replies))

    def _judge_all(
        self,
        events: Sequence[Event],
        queued: list[tuple[int | None, int | None]],
        replies: list[Any],
    ) -> list[list[Detection]]:
        found = [
            []
            if self._quiet(replies, rate, ips)
            else self._judge(event, _reply(replies, rate), _reply(replies, ips))
            for event, (rate, ips) in zip(events, queued, strict=True)
        ]
        return self._one_ddos_per_minute(events, found)

    def _quiet(self, replies: list[Any], rate: int | None, ips: int | None) -> bool:
        """Whether the counts alone clear the event (most events): a minute at or under the
        floor is no burst, and too few learned minutes judge no flood (_rate and _ddos)."""
        return (rate is None or int(replies[rate][0]) <= self.floor) and (
            ips is None or int(replies[ips][3]) < self.ddos_min_samples
        )

    def _one_ddos_per_minute(
        self, events: Sequence[Event], found: list[list[Detection]]
    ) -> list[list[Detection]]:
        """Keep a DDoS suspicion only on the first event of an endpoint's minute to raise it:
        one threat per flood, not one per flooding IP (every process sees the same claim)."""
        claims: dict[str, int] = {}
        for index, (event, detections) in enumerate(zip(events, found, strict=True)):
            if detections and any(d.kind == "ddos" for d in detections):
                claims.setdefault(
                    key("rl", "ddos", _endpoint(event), str(int(event.timestamp // 60))), index
                )
        if not claims:
            return found
        pipe = self.redis.pipeline(transaction=False)
        for claim in claims:
            pipe.set(claim, 1, nx=True, ex=self.bucket_ttl_s)
        won = {index for index, ok in zip(claims.values(), pipe.execute(), strict=True) if ok}
        return [
            [d for d in detections if d.kind != "ddos" or index in won]
            for index, detections in enumerate(found)
        ]

    def _queue(self, batch: Batch, event: Event) -> tuple[int | None, int | None]:
        """Queue this event's records; return their reply indices (requests, distinct IPs)."""
        if event.event_type != "request" and not event.endpoint:
            return None, None
        endpoint, minute = event.endpoint or "-", int(event.timestamp // 60)
        rate = ips = None
        key_type, who = _principal(event)
        if who:
            scope = joined(key_type, who, endpoint)  # key("rl", "n", key_type, who, endpoint)
            rate = self._minute(batch, _RATE + scope, _BASELINE + scope, minute)
        if event.source_ip:
            buckets, baseline = _ip_keys(endpoint)
            ips = self._minute(batch, buckets, baseline, minute, ip=event.source_ip)
        return rate, ips

    def _minute(self, batch: Batch, buckets: str, baseline: str, minute: int, ip: str = "") -> int:
        return batch.record(4, batch.key(f"{buckets}:{minute}"), batch.key(baseline), minute, ip)

    def _judge(self, event: Event, rate: Minute | None, ips: Minute | None) -> list[Detection]:
        found = [
            self._rate(event, rate) if rate is not None else None,
            self._ddos(event, ips) if ips is not None else None,
        ]
        return [detection for detection in found if detection]

    def _rate(self, event: Event, minute: Minute) -> Detection | None:
        # A learned deviation near zero (a perfectly steady client) must not make +1 a burst.
        z = (minute.current - minute.mean) / max(minute.dev, 0.1 * minute.mean, 1.0)
        if minute.current <= self.floor or z <= self.medium_devs:
            return None
        if minute.current > 2 * self.floor and z > self.high_devs:
            score = min(0.88, 0.8 + 0.01 * (z - self.high_devs))
        else:
            spread = max(self.high_devs - self.medium_devs, 1.0)
            score = 0.55 + 0.15 * min(1.0, (z - self.medium_devs) / spread)
        key_type, who = _principal(event)
        reason = (
            f"{minute.current} requests to {_endpoint(event)} from {who} this minute"
            f" ({minute.usual()})"
        )
        return Detection(self.name, round(score, 3), reason, "rate_limit", key_type, who)

    def _ddos(self, event: Event, minute: Minute) -> Detection | None:
        threshold = max(self.ddos_min_ips, self.ddos_factor * minute.mean)
        if minute.samples < self.ddos_min_samples or minute.current < threshold:
            return None  # without a few learned minutes, a busy endpoint is not a flood
        score = 0.6 + 0.14 * min(1.0, minute.current / threshold - 1)
        reason = (
            f"{minute.current} distinct IPs on {_endpoint(event)} this minute"
            f" ({minute.usual()}), {event.source_ip} among them"
        )
        return Detection(self.name, round(score, 3), reason, "ddos", IP, event.source_ip)


_RATE, _BASELINE = key("rl", "n", ""), key("rl", "base", "")


@functools.lru_cache(maxsize=1024)
def _ip_keys(endpoint: str) -> tuple[str, str]:
    """An endpoint's distinct-IP buckets (less the minute) and baseline: few endpoints recur."""
    return key("rl", "ips", endpoint), key("rl", "ipbase", endpoint)


def _principal(event: Event) -> tuple[str, str]:
    return (USER, event.user_id) if event.user_id else (IP, event.source_ip)


def _endpoint(event: Event) -> str:
    return event.endpoint or "(no endpoint)"


def _reply(replies: list[Any], at: int | None) -> Minute | None:
    if at is None:
        return None
    current, mean, dev, samples = replies[at]  # numbers as the baseline hash stores them
    return Minute(int(current), float(mean), float(dev), int(samples))
