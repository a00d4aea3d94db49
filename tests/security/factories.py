from datetime import UTC, datetime, timedelta

import factory

from apps.security.constants import KeyType, Severity
from apps.security.detectors.base import Detection
from apps.security.models import SecurityEvent, Threat

T0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


class SecurityEventFactory(factory.django.DjangoModelFactory):
    """A request event from 203.0.113.7 by alice at T0 + `at_s` seconds."""

    class Meta:
        model = SecurityEvent
        exclude = ("at_s",)

    at_s = 0
    timestamp = factory.LazyAttribute(lambda o: T0 + timedelta(seconds=o.at_s))
    received_at = factory.LazyAttribute(lambda o: o.timestamp)
    event_type = "request"
    service = "api"
    user_id = "alice"
    source_ip = "203.0.113.7"
    endpoint = "/orders"
    method = "GET"
    severity = Severity.INFO


class ThreatFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Threat

    kind = "brute_force"
    key_type = KeyType.IP
    key = factory.Sequence(lambda n: f"198.51.100.{n % 250}")
    count = 3
    score = 0.4
    severity = Severity.LOW
    reason = "3 failed logins"
    first_seen = T0
    last_seen = T0


def detection(score: float, *, kind: str = "brute_force", key: str = "203.0.113.7", **kw):
    """Return a detection of `kind` against IP `key` (or the key type given)."""
    return Detection(
        detector=kw.pop("detector", "brute_force"),
        score=score,
        reason=kw.pop("reason", f"{kind} at {score}"),
        kind=kind,
        key_type=kw.pop("key_type", KeyType.IP),
        key=key,
    )
