"""A data subject's stored data across the apps, read in chunks for a streamed export."""

from collections.abc import Iterable, Iterator
from typing import Any

from django.db.models import Q, QuerySet

from apps.audit.models import AuditEvent
from apps.core.times import datetime_rfc3339, optional_rfc3339
from apps.ingest.scrub import ruleset
from apps.logs.models import LogRecord
from apps.metrics.models import Series
from apps.privacy.subjects import attributes_match
from apps.security.constants import KeyType
from apps.security.models import BlockListEntry, SecurityEvent, Threat
from apps.traces.models import Span

CHUNK = 500


def security_events(user_id: str) -> QuerySet[SecurityEvent]:
    return SecurityEvent.objects.filter(user_id=user_id).order_by("id")


def threats(user_id: str) -> QuerySet[Threat]:
    return Threat.objects.filter(key_type=KeyType.USER, key=user_id).order_by("id")


def blocklist(user_id: str) -> QuerySet[BlockListEntry]:
    return BlockListEntry.objects.filter(key_type=KeyType.USER, key=user_id).order_by("id")


def log_records(user_id: str) -> QuerySet[LogRecord]:
    return LogRecord.objects.filter(attributes_match("attributes", user_id)).order_by("id")


def spans(user_id: str) -> QuerySet[Span]:
    return Span.objects.filter(attributes_match("attributes", user_id)).order_by("id")


def metric_series(user_id: str) -> QuerySet[Series]:
    return Series.objects.filter(attributes_match("labels", user_id)).order_by("id")


def audit_events(user_id: str) -> QuerySet[AuditEvent]:
    named = Q(actor_id=user_id) | Q(actor_label=user_id) | Q(target=user_id)
    return AuditEvent.objects.filter(named).order_by("id")


def subject_sections(user_id: str) -> Iterator[tuple[str, Iterable[dict[str, Any]]]]:
    """(section, rows) for every app that stores something about the subject, scrubbed by
    the current scrubbing rules (rules an admin added since ingest apply to exports too)."""
    rules = ruleset()
    yield (
        "security_events",
        (
            {
                "id": e.id,
                "timestamp": datetime_rfc3339(e.timestamp),
                "event_type": e.event_type,
                "service": e.service,
                "user_id": e.user_id,
                "source_ip": e.source_ip,
                "endpoint": e.endpoint,
                "method": e.method,
                "params": rules.attributes(e.params),
                "user_agent": e.user_agent,
                "details": rules.attributes(e.details),
                "threat_score": e.threat_score,
                "severity": e.get_severity_display(),
                "detections": e.detections,
                "mitigated": e.mitigated,
            }
            for e in security_events(user_id).iterator(chunk_size=CHUNK)
        ),
    )
    yield (
        "threats",
        (
            {
                "id": t.id,
                "kind": t.kind,
                "key": t.key,
                "count": t.count,
                "score": t.score,
                "severity": t.get_severity_display(),
                "status": t.status,
                "first_seen": datetime_rfc3339(t.first_seen),
                "last_seen": datetime_rfc3339(t.last_seen),
                "reason": t.reason,
            }
            for t in threats(user_id).iterator(chunk_size=CHUNK)
        ),
    )
    yield (
        "blocklist",
        (
            {
                "key": b.key,
                "reason": b.reason,
                "created_at": datetime_rfc3339(b.created_at),
                "expires_at": optional_rfc3339(b.expires_at),
            }
            for b in blocklist(user_id).iterator(chunk_size=CHUNK)
        ),
    )
    yield (
        "logs",
        (
            {
                "id": r.id,
                "ts_ns": r.ts_ns,
                "service": r.service,
                "severity": r.severity_text,
                "body": rules.text(r.body),
                "attributes": rules.attributes(r.attributes),
                "trace_id": r.trace_id,
                "span_id": r.span_id,
            }
            for r in log_records(user_id).iterator(chunk_size=CHUNK)
        ),
    )
    yield (
        "spans",
        (
            {
                "trace_id": s.trace_id,
                "span_id": s.span_id,
                "service": s.service,
                "name": s.name,
                "start_ns": s.start_ns,
                "status": s.status,
                "attributes": rules.attributes(s.attributes),
            }
            for s in spans(user_id).iterator(chunk_size=CHUNK)
        ),
    )
    yield (
        "metric_series",
        (
            {
                "name": m.name,
                "service": m.service,
                "labels": m.labels,
                "last_seen": datetime_rfc3339(m.last_seen),
            }
            for m in metric_series(user_id).iterator(chunk_size=CHUNK)
        ),
    )
    yield (
        "audit",
        (
            {
                "id": a.id,
                "created_at": datetime_rfc3339(a.created_at),
                "action": a.action,
                "actor": a.actor_label,
                "target": a.target,
            }
            for a in audit_events(user_id).iterator(chunk_size=CHUNK)
        ),
    )
