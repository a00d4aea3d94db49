"""Security writes: score and store events, triage threats, edit the block list, prune.

A batch's events go to the database in one statement, bypassing the ORM's per-field
preparation: on SQLite an executemany (one writer at a time: the batch's ids are the
consecutive ones up to last_insert_rowid()), on PostgreSQL one INSERT ... SELECT from a single
JSON parameter, RETURNING the ids. The rows are made before the transaction begins, as
Django would store them: times in UTC, JSON columns as JSON, IPv6 addresses in Django's
canonical form, NUL dropped from text.
"""

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from apps.alerts import triggers as alert_triggers
from apps.audit.services import Actor, audit_record
from apps.core.rows import json_without_nul, without_nul
from apps.core.times import optional_rfc3339
from apps.security import analysis
from apps.security.constants import RETENTION_KEYS, Severity, ThreatStatus
from apps.security.detectors.base import Detection, Event
from apps.security.models import BlockListEntry, SecurityEvent, Threat
from apps.security.scoring import severity_of, threat_score
from apps.security.threats import Sighting, blocks_advise, sqlite_time, threats_record

logger = logging.getLogger(__name__)

Scrub = Callable[[dict[str, Any]], dict[str, Any]]
# An event's params and details as they are to be stored: checked and truncated, not scrubbed.
Kept = tuple[Mapping[str, Any], Mapping[str, Any]]
EVENT_COLUMNS = (
    "timestamp",
    "received_at",
    "event_type",
    "service",
    "user_id",
    "source_ip",
    "endpoint",
    "method",
    "params",
    "user_agent",
    "details",
    "threat_score",
    "severity",
    "detections",
    "mitigated",
)
_JSON_COLUMNS = {"params", "details", "detections"}
_PG_CASTS = {
    "timestamp": "::timestamptz",
    "received_at": "::timestamptz",
    "source_ip": "::inet",
    "threat_score": "::double precision",
    "severity": "::smallint",
    "mitigated": "::boolean",
}
_IP_FIELD = SecurityEvent._meta.get_field("source_ip")
# A write that conflicts with another process's (PostgreSQL) is retried with the same rows.
STORE_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class EventResult:
    """What the detectors made of one event, as the ingest answer shows it and the event's
    row stores it."""

    threat_score: float
    severity: Severity
    detections: list[Detection]
    detections_json: list[dict[str, Any]]

    def as_json(self) -> dict[str, Any]:
        return {
            "threat_score": self.threat_score,
            "severity": self.severity.label,
            "detections": self.detections_json,
        }


def detections_json(detections: Sequence[Detection]) -> list[dict[str, Any]]:
    """Return detections as the ingest answer shows them and the events API serves them."""
    return [
        {
            "detector": found.detector,
            "score": round(found.score, 4),
            "reason": found.reason,
            "kind": found.kind,
        }
        for found in detections
    ]


def events_ingest(
    *,
    events: Sequence[Event],
    kept: Sequence[Kept] | None = None,
    scrub: Scrub | None = None,
    with_redis: bool = True,
) -> list[EventResult]:
    """Score every event with every detector, then store events, threats and block advice
    in one transaction. The params are analysed raw; stored are `kept` (each event's own
    params and details when None), scrubbed by `scrub`. Without `with_redis`, only the
    detectors that need no Redis score the events."""
    found = analysis.analyse(events, with_redis=with_redis)
    nothing = _result([])  # frozen: one answer serves every event nothing was found in
    results = [_result(detections) if detections else nothing for detections in found]
    now = timezone.now()
    kept = kept if kept is not None else [(event.params, event.details) for event in events]
    rows = _event_rows(events, results, kept, scrub, now)  # before the write lock is taken
    for attempt in range(STORE_ATTEMPTS):
        try:
            _store(events, results, rows, now)
            break
        except IntegrityError:
            if attempt == STORE_ATTEMPTS - 1:
                raise
    return results


def _result(detections: list[Detection]) -> EventResult:
    score = threat_score(detections)
    return EventResult(score, severity_of(score), detections, detections_json(detections))


@transaction.atomic
def _store(events: Sequence[Event], results: list[EventResult], rows: Any, now: datetime) -> None:
    ids = _insert_postgresql(rows) if connection.vendor == "postgresql" else _insert_sqlite(rows)
    sightings = [
        Sighting(event_id, datetime.fromtimestamp(event.timestamp, UTC), detection)
        for event_id, event, result in zip(ids, events, results, strict=True)
        for detection in result.detections
    ]
    threats = threats_record(sightings=sightings)
    blocks_advise(threats=threats, now=now)
    if threats:
        alert_triggers.kind_changed("security")  # the hand-off to the alert engine


def _event_rows(
    events: Sequence[Event],
    results: list[EventResult],
    kept: Sequence[Kept],
    scrub: Scrub | None,
    now: datetime,
) -> Any:
    """Return the events' rows as the backend's insert takes them: on SQLite a list of rows
    with the JSON columns as text, on PostgreSQL one JSON document of them all."""
    postgresql = connection.vendor == "postgresql"
    time_text, json_value = (_pg_time, _same) if postgresql else (sqlite_time, _json_text)
    received_at = time_text(now)
    nothing = json_value({})  # most events have no details, many no params
    times: dict[float, str] = {}  # a batch's events share a few times
    found: dict[int, Any] = {}  # and results: one serves every event nothing was found in
    rows = []
    for event, result, (params, details) in zip(events, results, kept, strict=True):
        at = times.get(event.timestamp)
        if at is None:
            at = times[event.timestamp] = time_text(datetime.fromtimestamp(event.timestamp, UTC))
        detections = found.get(id(result))
        if detections is None:
            detections = found[id(result)] = json_value(result.detections_json)
        rows.append(
            [
                at,
                received_at,
                without_nul(event.event_type),
                without_nul(event.service),
                without_nul(event.user_id),
                _ip(event.source_ip),
                without_nul(event.endpoint),
                without_nul(event.method),
                json_value(_stored(params, scrub)) if params else nothing,
                without_nul(event.user_agent),
                json_value(_stored(details, scrub)) if details else nothing,
                result.threat_score,
                int(result.severity),
                detections,
                False,
            ]
        )
    return _json_text(rows) if postgresql else rows


def _ip(value: str) -> str | None:
    # IPv6 addresses in the form GenericIPAddressField stores them.
    return _IP_FIELD.get_prep_value(value) if ":" in value else value or None


def _stored(value: Mapping[str, Any], scrub: Scrub | None) -> dict[str, Any]:
    if not value:
        return {}
    if type(value) is not dict:
        value = dict(value)
    return scrub(value) if scrub else value


def _same(value: Any) -> Any:
    return value


def _pg_time(moment: datetime) -> str:
    return moment.isoformat()


def _json_text(value: Any) -> str:
    try:
        encoded = orjson.dumps(value)
    except TypeError:  # an integer beyond 64 bits: the standard library writes it
        return json.dumps(json_without_nul(value))
    if b"\\u0000" in encoded:
        encoded = orjson.dumps(json_without_nul(value))
    return encoded.decode()


def _insert_sqlite(rows: list[list[Any]]) -> list[int]:
    # SQLite has one writer at a time (its lock held from the first row to the commit), and
    # AUTOINCREMENT ids ascend: the batch's rows took consecutive ids up to last_insert_rowid().
    table = SecurityEvent._meta.db_table
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {table} ({', '.join(EVENT_COLUMNS)})"  # noqa: S608
            f" VALUES ({', '.join(['%s'] * len(EVENT_COLUMNS))})",
            rows,
        )
        cursor.execute("SELECT last_insert_rowid()")
        (last,) = cursor.fetchone()
    return list(range(last - len(rows) + 1, last + 1))


def _insert_postgresql(rows: str) -> list[int]:
    # The whole batch is one JSON parameter (no 65,535-parameter limit), inserted in array
    # order: the sequence hands out ascending ids in that order, so sorted they map to rows.
    table = SecurityEvent._meta.db_table
    values = ", ".join(
        f"e->{i}" if column in _JSON_COLUMNS else f"(e->>{i}){_PG_CASTS.get(column, '')}"
        for i, column in enumerate(EVENT_COLUMNS)
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({', '.join(EVENT_COLUMNS)})"  # noqa: S608
            f" SELECT {values} FROM jsonb_array_elements(%s::jsonb) WITH ORDINALITY AS r(e, n)"
            " ORDER BY n RETURNING id",
            [rows],
        )
        return sorted(row_id for (row_id,) in cursor.fetchall())


# --- triage -----------------------------------------------------------------------------------


def threat_mitigate(*, threat: Threat, actor: Actor, ip: str = "", note: str = "") -> Threat:
    """Mark a threat mitigated, and its events with it; audited. Repeating it changes nothing."""
    with transaction.atomic():
        threat = Threat.objects.select_for_update().get(pk=threat.pk)
        if threat.status == ThreatStatus.MITIGATED:
            return threat
        _threat_set_status(threat, ThreatStatus.MITIGATED, actor)
        SecurityEvent.objects.filter(threats=threat).update(mitigated=True)
        _audit_triage("security.threat_mitigated", threat, actor, ip, note)
        alert_triggers.kind_changed("security")
    return threat


def threat_mark_false_positive(
    *, threat: Threat, actor: Actor, ip: str = "", note: str = ""
) -> Threat:
    """Mark a threat a false positive and lift the block advice it caused; audited. Repeating
    it changes nothing."""
    with transaction.atomic():
        threat = Threat.objects.select_for_update().get(pk=threat.pk)
        if threat.status == ThreatStatus.FALSE_POSITIVE:
            return threat
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
                "expires_at": optional_rfc3339(expires_at),
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
