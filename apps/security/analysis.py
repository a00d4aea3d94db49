"""Every event through every detector; the detectors are built once per process from settings."""

import functools
import os
import re
import threading
import zoneinfo
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import cast

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from apps.core.redis import redis_client
from apps.security.detectors.base import Detection, Detector, Event
from apps.security.detectors.windows import Planner, plans_execute, plans_judge

# A batch this large hands its Redis round trip to a helper thread (one per request thread of a
# gunicorn gthread worker is plenty).
OVERLAP_MIN_EVENTS = 50
HELPER_THREADS = 4


@functools.cache
def detectors() -> tuple[Detector, ...]:
    """Return this process's detectors (the Redis-backed ones share its Redis client)."""
    # Imported here: the detectors compile their patterns when first needed, not at start-up.
    from apps.security.detectors.behavioral import BehavioralDetector
    from apps.security.detectors.brute_force import BruteForceDetector
    from apps.security.detectors.rate_limit import RateLimitDetector
    from apps.security.detectors.sql_injection import SqlInjectionDetector

    client = redis_client()
    return (
        SqlInjectionDetector(),
        BruteForceDetector(redis=client),
        RateLimitDetector(redis=client),
        BehavioralDetector(
            redis=client,
            business_hours=business_hours(settings.AIVMON_SECURITY_BUSINESS_HOURS),
            business_days=business_days(settings.AIVMON_SECURITY_BUSINESS_DAYS),
            timezone=time_zone(settings.AIVMON_SECURITY_TIMEZONE),
        ),
    )


def analyse(events: Sequence[Event], *, with_redis: bool = True) -> list[list[Detection]]:
    """Return, for each event, what every detector found in it, in the detectors' order.
    The Redis-backed detectors' script calls share one round trip, made by a helper thread
    while this one runs the other detectors: Redis works while the SQL-injection check does.
    Without `with_redis`, only the detectors that need no Redis look at the events."""
    planners = [cast(Planner, d) for d in detectors() if _plans(d)] if with_redis else []
    plans = [planner.plan(events) for planner in planners]
    # A hand-off costs more than it saves on a few events: then the call is made here, after.
    pending = None
    if plans and len(events) >= OVERLAP_MIN_EVENTS:
        pending = _helpers().submit(plans_execute, redis_client(), plans)
    own = {id(d): d.analyse(events) for d in detectors() if not _plans(d)}
    answers = pending.result() if pending else plans_execute(redis_client(), plans)
    own.update(zip(map(id, planners), plans_judge(plans, answers), strict=True))
    found: list[list[Detection]] = [[] for _ in events]
    for detector in detectors():
        if id(detector) in own:  # not a Redis-backed one left out
            for slot, detections in zip(found, own[id(detector)], strict=True):
                slot.extend(detections)
    return found


def redis_detector_names() -> list[str]:
    """The detectors whose windows live in Redis (what an analysis without Redis leaves out)."""
    return [detector.name for detector in detectors() if _plans(detector)]


def _plans(detector: Detector) -> bool:
    """Whether a detector plans Redis script calls (a Planner) instead of analysing alone."""
    # Not isinstance(…, Planner): a runtime Protocol check costs tens of microseconds.
    return hasattr(detector, "plan")


class _Helpers:
    """This process's helper threads (made on first use: threads do not survive a fork)."""

    lock = threading.Lock()
    pool: ThreadPoolExecutor | None = None
    pid = 0


def _helpers() -> ThreadPoolExecutor:
    with _Helpers.lock:
        if _Helpers.pool is None or _Helpers.pid != os.getpid():
            _Helpers.pool = ThreadPoolExecutor(HELPER_THREADS, thread_name_prefix="aivmon-redis")
            _Helpers.pid = os.getpid()
        return _Helpers.pool


DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HOURS = re.compile(r"([0-9]{1,2})-([0-9]{1,2})")


def business_hours(raw: str) -> tuple[int, int]:
    """Read AIVMON_SECURITY_BUSINESS_HOURS: "08-19" is from 08:00 until 19:00."""
    found = _HOURS.fullmatch(raw.strip())
    if not found or not 0 <= int(found[1]) < int(found[2]) <= 24:
        raise ImproperlyConfigured(
            f"AIVMON_SECURITY_BUSINESS_HOURS: {raw!r}; give start-end hours such as 08-19"
        )
    return int(found[1]), int(found[2])


def business_days(raw: str) -> tuple[int, ...]:
    """Read AIVMON_SECURITY_BUSINESS_DAYS: "mon-fri", or days and ranges like "mon,wed,fri-sun"."""
    days: list[int] = []
    for part in raw.lower().replace(" ", "").split(","):
        first, _, last = part.partition("-")
        if first not in DAYS or (last and last not in DAYS):
            raise ImproperlyConfigured(
                f"AIVMON_SECURITY_BUSINESS_DAYS: {raw!r}; give days such as mon-fri"
            )
        start, end = DAYS.index(first), DAYS.index(last or first)
        days.extend(range(start, end + 1) if start <= end else [*range(start, 7), *range(end + 1)])
    return tuple(sorted(set(days)))


def time_zone(raw: str) -> str:
    """Check AIVMON_SECURITY_TIMEZONE names an IANA time zone."""
    try:
        zoneinfo.ZoneInfo(raw)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ImproperlyConfigured(f"AIVMON_SECURITY_TIMEZONE: unknown time zone {raw!r}") from None
    return raw
