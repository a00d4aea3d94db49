"""Aggregating detections into open threats, and advising blocks for high and critical ones.

Called inside the ingest transaction: a fixed number of queries per batch, whatever its size.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q

from apps.security.constants import REASON_MAX_LENGTH, Severity, ThreatStatus
from apps.security.detectors.base import Detection
from apps.security.models import BlockListEntry, Threat, ThreatEvent
from apps.security.scoring import severity_of

ThreatKey = tuple[str, str, str]  # kind, key type, key
LINK_ROWS_PER_INSERT = 30_000  # of 2 columns: within PostgreSQL's 65,535 parameters


@dataclass(frozen=True, slots=True)
class Sighting:
    """One detection in one stored event."""

    event_id: int
    at: datetime
    detection: Detection


def threats_record(*, sightings: list[Sighting]) -> list[Threat]:
    """Add sightings to the open threat of their (kind, key) or open one; link their events."""
    groups: dict[ThreatKey, list[Sighting]] = defaultdict(list)
    for sighting in sightings:
        found = sighting.detection
        if severity_of(found.score) >= Severity.LOW and found.key:
            groups[(found.kind, found.key_type, found.key[:200])].append(sighting)
    if not groups:
        return []
    threats = _open_threats(set(groups))
    new = [_threat_new(key, group) for key, group in groups.items() if key not in threats]
    for key, group in groups.items():
        if key in threats:
            _threat_grow(threats[key], group)
    Threat.objects.bulk_update(
        [threats[key] for key in groups if key in threats],
        ["count", "score", "severity", "reason", "last_seen"],
    )
    for threat in Threat.objects.bulk_create(new):
        threats[(threat.kind, threat.key_type, threat.key)] = threat
    _link(threats, groups)
    return [threats[key] for key in groups]


def _open_threats(keys: set[ThreatKey]) -> dict[ThreatKey, Threat]:
    wanted = Q(status=ThreatStatus.OPEN, key__in={key for _, _, key in keys})
    rows = Threat.objects.select_for_update().filter(wanted)
    return {
        (row.kind, row.key_type, row.key): row
        for row in rows
        if (row.kind, row.key_type, row.key) in keys
    }


def _strongest(group: list[Sighting]) -> Detection:
    return max(group, key=lambda sighting: sighting.detection.score).detection


def _threat_new(key: ThreatKey, group: list[Sighting]) -> Threat:
    kind, key_type, value = key
    strongest = _strongest(group)
    return Threat(
        kind=kind,
        key_type=key_type,
        key=value,
        count=len(group),
        score=strongest.score,
        severity=severity_of(strongest.score),
        reason=strongest.reason[:REASON_MAX_LENGTH],
        first_seen=min(sighting.at for sighting in group),
        last_seen=max(sighting.at for sighting in group),
    )


def _threat_grow(threat: Threat, group: list[Sighting]) -> None:
    strongest = _strongest(group)
    threat.count += len(group)
    if strongest.score >= threat.score:
        threat.score = strongest.score
        threat.reason = strongest.reason[:REASON_MAX_LENGTH]
    threat.severity = max(threat.severity, severity_of(strongest.score))
    threat.last_seen = max(threat.last_seen, max(sighting.at for sighting in group))


def _link(threats: dict[ThreatKey, Threat], groups: dict[ThreatKey, list[Sighting]]) -> None:
    links = {
        (threats[key].pk, sighting.event_id) for key, group in groups.items() for sighting in group
    }
    ThreatEvent.objects.bulk_create(
        [ThreatEvent(threat_id=threat_id, event_id=event_id) for threat_id, event_id in links],
        ignore_conflicts=True,
        batch_size=LINK_ROWS_PER_INSERT,
    )


def blocks_advise(*, threats: list[Threat], now: datetime) -> list[BlockListEntry]:
    """Advise blocking the IP or user of every high or critical threat, or extend its advice."""
    serious = {(t.key_type, t.key): t for t in threats if t.severity >= Severity.HIGH}
    if not serious:
        return []
    existing = {
        (entry.key_type, entry.key): entry
        for entry in BlockListEntry.objects.select_for_update().filter(
            key__in={key for _, key in serious}
        )
    }
    changed, created = [], []
    for pair, threat in serious.items():
        until = now + timedelta(seconds=_block_s(threat.severity))
        entry = existing.get(pair)
        if entry is None:
            created.append(_block_new(threat, now, until))
        elif entry.expires_at is not None and entry.expires_at < until:
            _block_extend(entry, threat, until)
            changed.append(entry)
    BlockListEntry.objects.bulk_update(changed, ["expires_at", "reason", "severity", "threat"])
    return [*changed, *BlockListEntry.objects.bulk_create(created)]


def _block_s(severity: int) -> int:
    if severity >= Severity.CRITICAL:
        return settings.AIVMON_SECURITY_BLOCK_CRITICAL_S
    return settings.AIVMON_SECURITY_BLOCK_HIGH_S


def _block_reason(threat: Threat) -> str:
    return f"{threat.get_severity_display()} {threat.kind}: {threat.reason}"[:REASON_MAX_LENGTH]


def _block_new(threat: Threat, now: datetime, until: datetime) -> BlockListEntry:
    return BlockListEntry(
        key_type=threat.key_type,
        key=threat.key,
        reason=_block_reason(threat),
        severity=threat.severity,
        threat=threat,
        created_at=now,
        expires_at=until,
    )


def _block_extend(entry: BlockListEntry, threat: Threat, until: datetime) -> None:
    entry.expires_at = until
    entry.reason = _block_reason(threat)
    entry.severity = max(entry.severity, threat.severity)
    entry.threat = threat
