"""aivmon watching itself: what core and accounts observe becomes security events."""

import logging
import time
from dataclasses import replace

import redis
from django.dispatch import receiver

from apps.core.observe import security_observed
from apps.security import analysis
from apps.security.constants import (
    ENDPOINT_MAX_LENGTH,
    USER_AGENT_MAX_LENGTH,
    USER_ID_MAX_LENGTH,
)
from apps.security.detectors.base import Event
from apps.security.services import events_ingest

logger = logging.getLogger(__name__)
SELF_SERVICE = "aivmon"


@receiver(security_observed, dispatch_uid="aivmon.security.self_watch")
def _record_observation(sender, **fields) -> None:
    """Store what aivmon saw as a security event; never fail the request that saw it."""
    event = Event(
        timestamp=time.time(),
        event_type=fields["event_type"],
        service=SELF_SERVICE,
        user_id=fields.get("user_id", "")[:USER_ID_MAX_LENGTH],
        source_ip=fields.get("source_ip", ""),
        endpoint=fields.get("endpoint", "")[:ENDPOINT_MAX_LENGTH],
        method=fields.get("method", ""),
        user_agent=fields.get("user_agent", "")[:USER_AGENT_MAX_LENGTH],
        details=fields.get("details") or {},
    )
    try:
        events_ingest(events=[event])
    except redis.RedisError:
        _record_without_redis(event)
    except Exception:  # noqa: BLE001  (watching must never break sign-in or the API)
        logger.exception("security.self_watch.failed", extra={"event_type": event.event_type})


def _record_without_redis(event: Event) -> None:
    """Keep an observation while Redis is down: scored by the detectors that need no Redis,
    its details naming the ones that could not look (their windows never see it)."""
    logger.warning("security.self_watch.without_redis", extra={"event_type": event.event_type})
    unanalysed = {"unanalysed_by": analysis.redis_detector_names(), "why": "Redis unavailable"}
    try:
        events_ingest(
            events=[replace(event, details={**event.details, **unanalysed})], with_redis=False
        )
    except Exception:  # noqa: BLE001  (as above)
        logger.exception("security.self_watch.failed", extra={"event_type": event.event_type})
