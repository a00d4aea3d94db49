"""Security writes: score and store events, triage threats, edit the block list, prune."""

import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.alerts import triggers as alert_triggers
from apps.audit.services import Actor, audit_record
from apps.core.rows import json_without_nul, without_nul
from apps.security import analysis
from apps.security.constants import RETENTION_KEYS, Severity, ThreatStatus
from apps.security.detectors.base import Detection, Event
from apps.security.models import BlockListEntry, SecurityEvent, Threat
from apps.security.scoring import severity_of, threat_score
from apps.security.threats import Sighting, blocks_advise, threats_record

logger = logging.getLogger(__name__)

Scrub = Callable[[dict[str, Any]], dict[str, Any]]
# PostgreSQL takes at most 65,535 parameters a statement: 2,000 rows of 15 columns fit.
EVENT_ROWS_PER_INSERT = 2000
# Two web processes may open the same new threat at once (PostgreSQL): the loser retries.
STORE_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class EventResult:
    """What the detectors made of one event, as the ingest answer shows it."""

    threat_score: float
    severity: Severity
    detections: list[Detection]

    def as_json(self) -> dict[str, Any]:
        return {
            "threat_score": self.threat_score,
            "severity": self.severity.label,
            "detections": [_detection_json(found) for found in self.detections],
        }


def _detection_json(found: Detection) -> dict[str, Any]:
    return {
        "detector": found.detector,
        "score": round(found.score, 4),
        "reason": found.reason,
        "kind": found.kind,
    }


def events_ingest(*, events: Sequence[Event], scrub: Scrub | None = None) -> list[EventResult]:
    """Score every event with every detector, then store events, threats and block advice
    in one transaction; the params are analysed raw and stored scrubbed."""
    events = [
        event if event.event_id else replace(event, event_id=uuid.uuid4().hex) for event in events
    ]
    found = analysis.analyse(events)
    results = [_result(detections) for detections in found]
    for attempt in range(STORE_ATTEMPTS):
        try:
            _store(events, results, scrub)
            break
        except IntegrityError:
            if attempt == STORE_ATTEMPTS - 1:
                raise
    return results


def _result(detections: list[Detection]) -> EventResult:
    score = threat_score(detections)
    return EventResult(score, severity_of(score), detections)


@transaction.atomic
def _store(events: list[Event], results: list[EventResult], scrub: Scrub | None) -> None:
    now = timezone.now()
    rows = SecurityEvent.objects.bulk_create(
        [
            _event_row(event, result, scrub, now)
            for event, result in zip(events, results, strict=True)
        ],
        batch_size=EVENT_ROWS_PER_INSERT,
    )
    sightings = [
        Sighting(row.pk, row.timestamp, detection)
        for row, result in zip(rows, results, strict=True)
        for detection in result.detections
    ]
    threats = threats_record(sightings=sightings)
    blocks_advise(threats=threats, now=now)
    if threats:
        alert_triggers.kind_changed("security")  # the hand-off to the alert engine


def _event_row(
    event: Event, result: EventResult, scrub: Scrub | None, now: datetime
) -> SecurityEvent:
    return SecurityEvent(
        timestamp=datetime.fromtimestamp(event.timestamp, UTC),
        received_at=now,
        event_type=without_nul(event.event_type),
        service=without_nul(event.service),
        user_id=without_nul(event.user_id),
        source_ip=event.source_ip or None,
        endpoint=without_nul(event.endpoint),
        method=without_nul(event.method),
        params=_stored_json(event.params, scrub),
        user_agent=without_nul(event.user_agent),
        details=_stored_json(event.details, scrub),
        threat_score=result.threat_score,
        severity=result.severity,
        detections=[_detection_json(found) for found in result.detections],
    )


def _stored_json(value: Mapping[str, Any], scrub: Scrub | None) -> Any:
    return json_without_nul(scrub(dict(value)) if scrub else dict(value))


# --- triage -----------------------------------------------------------------------------------


def threat_mitigate(*, threat: Threat, actor: Actor, ip: str = "", note: str = "") -> Threat:
    """Mark a threat mitigated, and its events with it; audited."""
    with transaction.atomic():
        _threat_set_status(threat, ThreatStatus.MITIGATED, actor)
        SecurityEvent.objects.filter(threats=threat).update(mitigated=True)
        _audit_triage("security.threat_mitigated", threat, actor, ip, note)
        alert_triggers.kind_changed("security")
    return threat


def threat_mark_false_positive(
    *, threat: Threat, actor: Actor, ip: str = "", note: str = ""
) -> Threat:
    """Mark a threat a false positive and lift the block advice it caused; audited."""
    with transaction.atomic():
        _threat_set_status(threat, ThreatStatus.FALSE_POSITIVE, actor)
        BlockListEntry.objects.filter(threat=threat, created_by__isnull=True).delete()
        _audit_triage("security.threat_false_positive", threat, actor, ip, note)
        alert_triggers.kind_changed("security")
    return threat


def _threat_set_status(threat: Threat, status: str, actor: Actor) -> None:
    threat.status = status
    threat.status_changed_at = timezone.now()
    threat.status_changed_by = (actor.label or actor.id)[:200]
    threat.save(update_fields=["status", "status_changed_at", "status_changed_by"])


def _audit_triage(action: str, threat: Threat, actor: Actor, ip: str, note: str) -> None:
    audit_record(
        action=action,
        actor=actor,
        target=f"threat:{threat.pk}",
        ip=ip,
        details={"kind": threat.kind, "key": f"{threat.key_type}:{threat.key}", "note": note},
    )


# --- the block list ---------------------------------------------------------------------------


def blocklist_add(
    *,
    key_type: str,
    key: str,
    reason: str,
    expires_at: datetime | None,
    user: Any,
    actor: Actor,
    ip: str = "",
) -> BlockListEntry:
    """Advise blocking an IP or user (replacing any advice for it) until `expires_at`; audited."""
    with transaction.atomic():
        entry, _ = BlockListEntry.objects.update_or_create(
            key_type=key_type,
            key=key,
            defaults={
                "reason": reason,
                "expires_at": expires_at,
                "created_at": timezone.now(),
                "created_by": user,
                "severity": Severity.HIGH,
                "threat": None,
            },
        )
        audit_record(
            action="security.block_added",
            actor=actor,
            target=f"{key_type}:{key}",
            ip=ip,
            details={
                "reason": reason,
                "expires_at": expires_at.isoformat() if expires_at else None,
            },
        )
    return entry


def blocklist_remove(*, entry: BlockListEntry, actor: Actor, ip: str = "") -> None:
    """Lift the advice to block one IP or user; audited."""
    with transaction.atomic():
        target = f"{entry.key_type}:{entry.key}"
        entry.delete()
        audit_record(action="security.block_removed", actor=actor, target=target, ip=ip)


# --- retention --------------------------------------------------------------------------------


def security_prune(*, cutoffs: dict[str, datetime | None], limit: int = 5000) -> int:
    """Delete up to `limit` events older than their severity band's cutoff (None keeps the
    band), then closed threats and lapsed block advice past it; call again until it answers 0."""
    deleted = 0
    for key, severities in RETENTION_KEYS.items():
        before = cutoffs.get(key)
        if before is None or deleted >= limit:
            continue
        deleted += _prune_band(severities, before, limit - deleted)
    return deleted


def _prune_band(severities: tuple[int, ...], before: datetime, limit: int) -> int:
    with transaction.atomic():
        ids = list(
            SecurityEvent.objects.filter(severity__in=severities, timestamp__lt=before)
            .order_by("timestamp")
            .values_list("id", flat=True)[:limit]
        )
        if ids:
            SecurityEvent.objects.filter(id__in=ids).delete()
        threats = list(
            Threat.objects.exclude(status=ThreatStatus.OPEN)
            .filter(severity__in=severities, last_seen__lt=before)
            .values_list("id", flat=True)[: max(0, limit - len(ids))]
        )
        if threats:
            Threat.objects.filter(id__in=threats).delete()
        lapsed = BlockListEntry.objects.filter(severity__in=severities, expires_at__lt=before)
        lapsed.delete()
    return len(ids) + len(threats)
