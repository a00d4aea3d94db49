"""Aggregating detections into open threats, and advising blocks for high and critical ones.

Called inside the ingest transaction: a fixed number of queries per batch, whatever its size.
Threats and block advice are upserts (INSERT ... ON CONFLICT DO UPDATE ... RETURNING, on
PostgreSQL and on SQLite from 3.35): one statement adds a batch's sightings to the open threats
or opens them, and two web processes opening the same threat at once both land in the one open
row. On SQLite times are Django's naive UTC text, which sorts as the times do (MAX works).
"""

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection

from apps.security.constants import REASON_MAX_LENGTH, Severity, ThreatStatus
from apps.security.detectors.base import Detection
from apps.security.models import BlockListEntry, Threat, ThreatEvent
from apps.security.scoring import severity_of

ThreatKey = tuple[str, str, str]  # kind, key type, key
# Parameters a statement: PostgreSQL takes 65,535, SQLite 32,766 (from 3.32).
MAX_PARAMS = 32_000

_THREAT_COLUMNS = [field.column for field in Threat._meta.concrete_fields]
_THREAT_TIMES = [
    at
    for at, field in enumerate(Threat._meta.concrete_fields)
    if field.get_internal_type() == "DateTimeField"
]
_NEW_THREAT_COLUMNS = (
    "kind",
    "key_type",
    "key",
    "count",
    "score",
    "severity",
    "reason",
    "first_seen",
    "last_seen",
    "status",
    "status_changed_by",
)
# On conflict the right-hand sides read the open threat as it was: it grows by the sightings.
_THREAT_GROW = """
ON CONFLICT ("kind", "key_type", "key") WHERE "status" = 'open' DO UPDATE SET
  "count" = {table}."count" + excluded."count",
  "reason" = CASE WHEN excluded."score" >= {table}."score"
                  THEN excluded."reason" ELSE {table}."reason" END,
  "score" = {greatest}({table}."score", excluded."score"),
  "severity" = {greatest}({table}."severity", excluded."severity"),
  "last_seen" = {greatest}({table}."last_seen", excluded."last_seen")
"""

_BLOCK_COLUMNS = ("key_type", "key", "reason", "severity", "threat_id", "created_at", "expires_at")
# Advice is extended, never shortened, and advice without expiry (manual) is left alone.
_BLOCK_EXTEND = """
ON CONFLICT ("key_type", "key") DO UPDATE SET
  "expires_at" = excluded."expires_at",
  "reason" = excluded."reason",
  "severity" = {greatest}({table}."severity", excluded."severity"),
  "threat_id" = excluded."threat_id"
WHERE {table}."expires_at" IS NOT NULL AND {table}."expires_at" < excluded."expires_at"
"""


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
    db_time = time_writer()
    # In key order: concurrent batches lock the threats they share in one order (no deadlock).
    rows = [_threat_row(key, groups[key], db_time) for key in sorted(groups)]
    threats = _threats_upsert(rows)
    _link(threats, groups)
    return [threats[key] for key in groups]


def time_writer() -> Callable[[datetime], Any]:
    """Return what turns an aware datetime into a parameter as Django would write it."""
    return _same if connection.vendor == "postgresql" else sqlite_time


def sqlite_time(moment: datetime) -> str:
    """Return the text Django stores for a datetime on SQLite: naive UTC."""
    return str(moment.astimezone(UTC).replace(tzinfo=None))


def _same(moment: datetime) -> datetime:
    return moment


def _strongest(group: list[Sighting]) -> Detection:
    return max(group, key=lambda sighting: sighting.detection.score).detection


def _threat_row(
    key: ThreatKey, group: list[Sighting], db_time: Callable[[datetime], Any]
) -> list[Any]:
    """The threat these sightings open; on conflict, what they add to the open one."""
    kind, key_type, value = key
    strongest = _strongest(group)
    return [
        kind,
        key_type,
        value,
        len(group),
        strongest.score,
        int(severity_of(strongest.score)),
        strongest.reason[:REASON_MAX_LENGTH],
        db_time(min(sighting.at for sighting in group)),
        db_time(max(sighting.at for sighting in group)),
        ThreatStatus.OPEN.value,
        "",
    ]


def _threats_upsert(rows: list[list[Any]]) -> dict[ThreatKey, Threat]:
    table = connection.ops.quote_name(Threat._meta.db_table)
    head = f"INSERT INTO {table} ({', '.join(map(connection.ops.quote_name, _NEW_THREAT_COLUMNS))})"
    tail = _THREAT_GROW.format(table=table, greatest=_greatest()) + (
        f" RETURNING {', '.join(map(connection.ops.quote_name, _THREAT_COLUMNS))}"
    )
    threats: dict[ThreatKey, Threat] = {}
    with connection.cursor() as cursor:
        for chunk in _chunks(rows):
            cursor.execute(f"{head} VALUES {_placeholders(chunk)} {tail}", _flat(chunk))
            for values in cursor.fetchall():
                threat = _threat_from_db(values, connection.alias)
                threats[(threat.kind, threat.key_type, threat.key)] = threat
    return threats


def _threat_from_db(values: Sequence[Any], alias: str) -> Threat:
    converted = list(values)
    for at in _THREAT_TIMES:
        converted[at] = _aware(converted[at])
    return Threat.from_db(alias, _THREAT_COLUMNS, converted)


def _aware(value: Any) -> Any:
    """SQLite hands back naive UTC (parsed by Django's converter, or text); PostgreSQL aware."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _link(threats: dict[ThreatKey, Threat], groups: dict[ThreatKey, list[Sighting]]) -> None:
    links = sorted(
        {
            (threats[key].pk, sighting.event_id)
            for key, group in groups.items()
            for sighting in group
        }
    )
    table = connection.ops.quote_name(ThreatEvent._meta.db_table)
    with connection.cursor() as cursor:
        cursor.executemany(
            f'INSERT INTO {table} ("threat_id", "event_id") VALUES (%s, %s)'  # noqa: S608
            " ON CONFLICT DO NOTHING",
            links,
        )


def blocks_advise(*, threats: list[Threat], now: datetime) -> int:
    """Advise blocking the IP or user of every high or critical threat, or extend its advice;
    return how many entries were added or extended. Advice without expiry is left alone."""
    serious = {(t.key_type, t.key): t for t in threats if t.severity >= Severity.HIGH}
    if not serious:
        return 0
    db_time = time_writer()
    rows = [_block_row(serious[pair], now, db_time) for pair in sorted(serious)]
    table = connection.ops.quote_name(BlockListEntry._meta.db_table)
    head = f"INSERT INTO {table} ({', '.join(map(connection.ops.quote_name, _BLOCK_COLUMNS))})"
    tail = _BLOCK_EXTEND.format(table=table, greatest=_greatest())
    changed = 0
    with connection.cursor() as cursor:
        for chunk in _chunks(rows):
            cursor.execute(f"{head} VALUES {_placeholders(chunk)} {tail}", _flat(chunk))
            changed += cursor.rowcount
    return changed


def _block_row(threat: Threat, now: datetime, db_time: Callable[[datetime], Any]) -> list[Any]:
    until = now + timedelta(seconds=_block_s(threat.severity))
    return [
        threat.key_type,
        threat.key,
        _block_reason(threat),
        int(threat.severity),
        threat.pk,
        db_time(now),
        db_time(until),
    ]


def _block_s(severity: int) -> int:
    if severity >= Severity.CRITICAL:
        return settings.AIVMON_SECURITY_BLOCK_CRITICAL_S
    return settings.AIVMON_SECURITY_BLOCK_HIGH_S


def _block_reason(threat: Threat) -> str:
    return f"{threat.get_severity_display()} {threat.kind}: {threat.reason}"[:REASON_MAX_LENGTH]


# --- SQL helpers ------------------------------------------------------------------------------


def _greatest() -> str:
    return "GREATEST" if connection.vendor == "postgresql" else "MAX"


def _chunks(rows: list[list[Any]]) -> list[list[list[Any]]]:
    size = max(1, MAX_PARAMS // len(rows[0]))
    return [rows[at : at + size] for at in range(0, len(rows), size)]


def _placeholders(rows: list[list[Any]]) -> str:
    one = f"({', '.join(['%s'] * len(rows[0]))})"
    return ", ".join([one] * len(rows))


def _flat(rows: list[list[Any]]) -> list[Any]:
    return [value for row in rows for value in row]
