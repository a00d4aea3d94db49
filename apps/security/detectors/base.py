"""The one small interface every detector implements.

A detector gets a batch of events (in arrival order) and answers one list of detections per
event. Batches let the Redis-backed detectors pipeline their commands: one round trip a batch.
Detectors see the raw event (params before PII scrubbing); they never touch the database.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

IP = "ip"
USER = "user"


@dataclass(frozen=True, slots=True)
class Event:
    """One security event as the detectors see it."""

    timestamp: float  # seconds since the epoch, UTC
    event_type: str  # auth_failure, auth_success, request, admin_operation, data_access, ...
    service: str = ""
    user_id: str = ""
    source_ip: str = ""
    endpoint: str = ""
    method: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)
    user_agent: str = ""
    details: Mapping[str, Any] = field(default_factory=dict)
    event_id: str = ""  # unique per event; Redis-backed windows use it as the member


@dataclass(frozen=True, slots=True)
class Detection:
    """What a detector found in one event."""

    detector: str  # brute_force | sql_injection | rate_limit | behavioral
    score: float  # 0..1
    reason: str  # one human sentence, e.g. "7 failed logins from 203.0.113.7 in 5 min"
    kind: str  # threat kind, e.g. brute_force, credential_stuffing, password_spraying, ...
    key_type: str  # IP or USER: what the threat is keyed by
    key: str  # the IP address or the user id


class Detector(Protocol):
    name: str

    def analyse(self, events: Sequence[Event]) -> list[list[Detection]]:
        """Return one list of detections per event, in the order given."""
        ...
