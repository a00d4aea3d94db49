"""Security reads: events, threats and the block list, filtered as the API and pages ask."""

from datetime import datetime

from django.db.models import Q, QuerySet
from django.utils import timezone

from apps.security.constants import THREAT_KINDS_BY_DETECTOR
from apps.security.models import BlockListEntry, SecurityEvent, Threat


def security_event_list(
    *,
    event_type: str | None = None,
    service: str | None = None,
    user_id: str | None = None,
    source_ip: str | None = None,
    min_severity: int | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> QuerySet[SecurityEvent]:
    """Return matching events, newest first."""
    events = SecurityEvent.objects.all()
    if event_type:
        events = events.filter(event_type=event_type)
    if service:
        events = events.filter(service=service)
    if user_id:
        events = events.filter(user_id=user_id)
    if source_ip:
        events = events.filter(source_ip=source_ip)
    if min_severity is not None:
        events = events.filter(severity__gte=min_severity)
    if start is not None:
        events = events.filter(timestamp__gte=start)
    if end is not None:
        events = events.filter(timestamp__lte=end)
    return events.order_by("-timestamp", "-id")


def threat_list(
    *, status: str | None = None, kind: str | None = None, min_severity: int | None = None
) -> QuerySet[Threat]:
    """Return matching threats, most recently seen first; `kind` is a threat kind or a
    detector's name (all the kinds it raises)."""
    threats = Threat.objects.all()
    if status:
        threats = threats.filter(status=status)
    if kind:
        threats = threats.filter(kind__in=(kind, *THREAT_KINDS_BY_DETECTOR.get(kind, ())))
    if min_severity is not None:
        threats = threats.filter(severity__gte=min_severity)
    return threats.order_by("-last_seen", "-id")


def threat_get(*, threat_id: int) -> Threat | None:
    return Threat.objects.filter(pk=threat_id).first()


def blocklist_active(*, now: datetime | None = None) -> QuerySet[BlockListEntry]:
    """Return the IPs and users currently advised blocked, newest advice first."""
    moment = now or timezone.now()
    return BlockListEntry.objects.filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=moment)
    ).order_by("-created_at", "-id")


def blocklist_entry_get(*, entry_id: int) -> BlockListEntry | None:
    return BlockListEntry.objects.filter(pk=entry_id).first()


def threat_events(*, threat: Threat, limit: int = 50) -> QuerySet[SecurityEvent]:
    """Return the newest events a threat was built from."""
    return threat.events.order_by("-timestamp", "-id")[:limit]
