"""Brute force: failed logins in sliding windows per IP, per user and per (IP, user); credential
stuffing (one IP, many users), password spraying (one user, many IPs), and a successful login
after a run of failures. Each event gets at most one detection keyed by its IP and one keyed
by its user: the strongest. A success is judged on the failures from its IP in the window
before it, so every success in that window after a run is flagged again.

Keys (sorted sets, member → event time; windows.py prunes them and sets their expiry):
    aivmon:sec:bf:ip:<ip>  bf:user:<user>  bf:pair:<ip>:<user>   failed logins (member event id)
    aivmon:sec:bf:users:<ip>  (member user)   bf:ips:<user>  (member ip)   newest failure time
"""

from collections.abc import Callable, Sequence
from typing import Any

from redis import Redis

from .base import IP, USER, Detection, Event
from .windows import Batch, Plan, SlidingWindow, key, member, rising, run_plans

Judge = Callable[[list[Any]], list[Detection]]


class BruteForceDetector:
    name = "brute_force"

    def __init__(
        self,
        *,
        redis: Redis,
        window_s: float = 300.0,
        lateness_s: float = 600.0,
        low_failures: int = 3,
        medium_failures: int = 5,
        high_failures: int = 10,
        stuffing_min_users: int = 5,
        spraying_min_ips: int = 5,
    ) -> None:
        self.redis = redis
        self.window = SlidingWindow(window_s, lateness_s)
        self.low, self.medium, self.high = low_failures, medium_failures, high_failures
        self.stuffing_min_users = stuffing_min_users
        self.spraying_min_ips = spraying_min_ips
        self.span = f"in {window_s / 60:g} min"

    def analyse(self, events: Sequence[Event]) -> list[list[Detection]]:
        return run_plans(self.redis, [self.plan(events)])[0]

    def plan(self, events: Sequence[Event]) -> Plan:
        """Queue the batch's window operations; the plan judges every event on their replies."""
        batch = Batch(self.redis)
        judges = [self._queue(batch, event) for event in events]
        return Plan(batch, lambda replies: [judge(replies) for judge in judges])

    def failure_score(self, count: int) -> float:
        """Score a failure count: low 0.35–0.45, medium 0.6–0.7, high 0.8–0.88."""
        if count >= self.high:
            return rising(count, self.high, base=0.8, step=0.01, cap=0.88)
        if count >= self.medium:
            return rising(count, self.medium, base=0.6, step=0.025, cap=0.7)
        if count >= self.low:
            return rising(count, self.low, base=0.35, step=0.05, cap=0.45)
        return 0.0

    def _queue(self, batch: Batch, event: Event) -> Judge:
        if event.event_type == "auth_failure" and (event.source_ip or event.user_id):
            return self._queue_failure(batch, event)
        if event.event_type == "auth_success" and event.source_ip:
            failures = ("count", key("bf", "ip", event.source_ip), "")
            at = batch.windows(self.window, event.timestamp, failures)
            return lambda replies: self._judge_success(event, replies[at][0])
        return lambda replies: []

    def _queue_failure(self, batch: Batch, event: Event) -> Judge:
        ip, user, m = event.source_ip, event.user_id, member(event)
        entries: dict[str, tuple[str, str, str]] = {}
        if ip:
            entries["ip"] = ("add", key("bf", "ip", ip), m)
        if user:
            entries["user"] = ("add", key("bf", "user", user), m)
        if ip and user:
            entries["pair"] = ("add", key("bf", "pair", ip, user), m)
            entries["users"] = ("newest", key("bf", "users", ip), user)
            entries["ips"] = ("newest", key("bf", "ips", user), ip)
        at = batch.windows(self.window, event.timestamp, *entries.values())
        return lambda replies: self._judge_failure(
            event, dict(zip(entries, replies[at], strict=True))
        )

    def _judge_failure(self, event: Event, counts: dict[str, int]) -> list[Detection]:
        if self._quiet(counts):
            return []
        ip, user = event.source_ip, event.user_id
        by_ip = [  # the pair first: on a tie its reason is the more specific one
            self._failures(IP, ip, counts.get("pair", 0), f"for {user} from {ip}"),
            self._failures(IP, ip, counts.get("ip", 0), f"from {ip}"),
            self._stuffing(ip, counts.get("users", 0)),
        ]
        by_user = [
            self._failures(USER, user, counts.get("user", 0), f"for {user}"),
            self._spraying(user, counts.get("ips", 0)),
        ]
        return [strongest for strongest in (_strongest(by_ip), _strongest(by_user)) if strongest]

    def _quiet(self, counts: dict[str, int]) -> bool:
        """Whether every count is under the least that scores (most failures): no detection,
        and no reason worth writing."""
        failures = max(counts.get("pair", 0), counts.get("ip", 0), counts.get("user", 0))
        return (
            failures < min(self.low, self.medium, self.high)
            and counts.get("users", 0) < self.stuffing_min_users
            and counts.get("ips", 0) < self.spraying_min_ips
        )

    def _failures(self, key_type: str, who: str, count: int, whence: str) -> Detection | None:
        score = self.failure_score(count)
        reason = f"{count} failed logins {whence} {self.span}"
        return self._detection(score, reason, "brute_force", key_type, who)

    def _stuffing(self, ip: str, users: int) -> Detection | None:
        score = 0.0
        if users >= self.stuffing_min_users:
            score = rising(users, self.stuffing_min_users, base=0.85, step=0.005, cap=0.89)
        reason = f"failed logins for {users} different users from {ip} {self.span}"
        return self._detection(score, reason, "credential_stuffing", IP, ip)

    def _spraying(self, user: str, ips: int) -> Detection | None:
        score = 0.0
        if ips >= self.spraying_min_ips:
            score = rising(ips, self.spraying_min_ips, base=0.8, step=0.01, cap=0.88)
        reason = f"failed logins for {user} from {ips} different IPs {self.span}"
        return self._detection(score, reason, "password_spraying", USER, user)

    def _judge_success(self, event: Event, failures: int) -> list[Detection]:
        score = 0.8 if failures >= self.high else 0.6 if failures >= self.low else 0.0
        ip = event.source_ip
        reason = f"successful login from {ip} after {failures} failed logins {self.span}"
        found = self._detection(score, reason, "success_after_failures", IP, ip)
        return [found] if found else []

    def _detection(
        self, score: float, reason: str, kind: str, key_type: str, who: str
    ) -> Detection | None:
        if score <= 0 or not who:
            return None
        return Detection(self.name, round(score, 3), reason, kind, key_type, who)


def _strongest(candidates: list[Detection | None]) -> Detection | None:
    found = [candidate for candidate in candidates if candidate]
    return max(found, key=lambda detection: detection.score, default=None)
