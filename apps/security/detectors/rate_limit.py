"""Rate limits: per-minute request counts per (user or IP, endpoint) against a learned baseline,
and many distinct IPs on one endpoint in a minute (DDoS suspicion).

What counts as a request: every event of type "request" and every other event that names an
endpoint (a login or an admin operation is a request too); the principal is the user when the
event has one, else the IP. Requests are bucketed by event-time minute (this is a rate, not a
sliding window).

The baseline is an EWMA of completed active minutes (minutes with no requests are not samples)
and an EWMA of their absolute deviation. A minute completes when a later minute starts for that
key; events arriving after that (up to lateness_s) still count in their minute's bucket but no
longer reach the baseline. One Lua script call an event and key keeps count and baseline
consistent between workers; the whole batch is one pipeline.

DDoS suspicion is keyed by the IP of each event in the flood (kind "ddos", the endpoint in the
reason): no single IP is shown to be an attacker, so it scores medium.

Keys (parts escaped by windows.key):
    aivmon:sec:rl:n:<ip|user>:<who>:<endpoint>:<minute>  counter, expires lateness_s + 2 min
    aivmon:sec:rl:base:<ip|user>:<who>:<endpoint>   hash minute/count/mean/dev/n, baseline_ttl_s
    aivmon:sec:rl:ips:<endpoint>:<minute>  HyperLogLog   rl:ipbase:<endpoint>  hash, as above
"""

from collections.abc import Sequence
from typing import Any, NamedTuple

from redis import Redis

from .base import IP, USER, Detection, Event
from .windows import Batch, key

# KEYS: this minute's bucket, the baseline hash. ARGV: minute, alpha, bucket ttl, baseline ttl,
# member. An empty member counts requests (INCR); else it is an IP counted distinctly (PFADD).
# The hash holds the open minute and its value so far, folded into the EWMAs when a later
# minute starts. Returns this minute's value so far and the baseline of the minutes before it.
MINUTE_SCRIPT = """
local bucket, baseline, member = KEYS[1], KEYS[2], ARGV[5]
local minute, alpha = tonumber(ARGV[1]), tonumber(ARGV[2])
local current
if member == '' then
  current = redis.call('INCR', bucket)
else
  redis.call('PFADD', bucket, member)
  current = redis.call('PFCOUNT', bucket)
end
redis.call('EXPIRE', bucket, ARGV[3])
local state = redis.call('HMGET', baseline, 'minute', 'count', 'mean', 'dev', 'n')
local open, done = tonumber(state[1]), tonumber(state[2]) or 0
local mean, dev, n = tonumber(state[3]) or 0, tonumber(state[4]) or 0, tonumber(state[5]) or 0
if open == nil or minute > open then
  if done > 0 and n == 0 then
    mean = done
  elseif done > 0 then
    dev = (1 - alpha) * dev + alpha * math.abs(done - mean)
    mean = (1 - alpha) * mean + alpha * done
  end
  if done > 0 then n = n + 1 end
  redis.call('HSET', baseline, 'minute', ARGV[1], 'count', current,
             'mean', tostring(mean), 'dev', tostring(dev), 'n', n)
elseif minute == open then
  redis.call('HSET', baseline, 'count', current)
end
redis.call('EXPIRE', baseline, ARGV[4])
return {current, tostring(mean), tostring(dev), n}
"""


class Minute(NamedTuple):
    """One key's value in the event's minute so far, and its baseline of earlier minutes."""

    current: int
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
        batch = Batch(self.redis)
        plans = [self._queue(batch, event) for event in events]
        replies = batch.run()
        found = [
            self._judge(event, _reply(replies, rate), _reply(replies, ips))
            for event, (rate, ips) in zip(events, plans, strict=True)
        ]
        return self._one_ddos_per_minute(events, found)

    def _one_ddos_per_minute(
        self, events: Sequence[Event], found: list[list[Detection]]
    ) -> list[list[Detection]]:
        """Keep a DDoS suspicion only on the first event of an endpoint's minute to raise it:
        one threat per flood, not one per flooding IP (every process sees the same claim)."""
        claims: dict[str, int] = {}
        for index, (event, detections) in enumerate(zip(events, found, strict=True)):
            if any(d.kind == "ddos" for d in detections):
                claims.setdefault(
                    key("rl", "ddos", _endpoint(event), str(int(event.timestamp // 60))), index
                )
        won: set[int] = set()
        if claims:
            pipe = self.redis.pipeline(transaction=False)
            for claim in claims:
                pipe.set(claim, 1, nx=True, ex=self.bucket_ttl_s)
            won = {index for index, ok in zip(claims.values(), pipe.execute(), strict=True) if ok}
        return [
            [d for d in detections if d.kind != "ddos" or index in won]
            for index, detections in enumerate(found)
        ]

    def _queue(self, batch: Batch, event: Event) -> tuple[int | None, int | None]:
        """Queue this event's script calls; return their reply indices (requests, distinct IPs)."""
        if event.event_type != "request" and not event.endpoint:
            return None, None
        endpoint, minute = event.endpoint or "-", int(event.timestamp // 60)
        rate = ips = None
        key_type, who = _principal(event)
        if who:
            scope = (key_type, who, endpoint)
            rate = self._minute(batch, key("rl", "n", *scope), key("rl", "base", *scope), minute)
        if event.source_ip:
            buckets, baseline = key("rl", "ips", endpoint), key("rl", "ipbase", endpoint)
            ips = self._minute(batch, buckets, baseline, minute, ip=event.source_ip)
        return rate, ips

    def _minute(self, batch: Batch, buckets: str, baseline: str, minute: int, ip: str = "") -> int:
        keys = (f"{buckets}:{minute}", baseline)
        ttls = (self.bucket_ttl_s, self.baseline_ttl_s)
        return batch.script(MINUTE_SCRIPT, keys, minute, self.alpha, *ttls, ip)

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


def _principal(event: Event) -> tuple[str, str]:
    return (USER, event.user_id) if event.user_id else (IP, event.source_ip)


def _endpoint(event: Event) -> str:
    return event.endpoint or "(no endpoint)"


def _reply(replies: list[Any], at: int | None) -> Minute | None:
    if at is None:
        return None
    current, mean, dev, samples = replies[at]
    return Minute(int(current), float(mean), float(dev), int(samples))
