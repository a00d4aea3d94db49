"""Security page reads: the threat landscape, top sources, detections by detector, the timeline.

Every read is one aggregated SQL query with a LIMIT, bounded by the chosen time range where
it reads events.
"""

from datetime import UTC, datetime
from typing import Any

from django.db import connection
from django.db.models import Count, Max, Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from apps.core.constants import Severity
from apps.dashboards.queries.overview import SEVERITIES, severity_timeline
from apps.security import selectors as security
from apps.security.constants import ThreatStatus
from apps.security.models import BlockListEntry, SecurityEvent, Threat
from apps.security.signals import SELF_SERVICE

TOP_N = 10
OPEN_THREATS_SHOWN = 50
BLOCKLIST_SHOWN = 50
# The ranges the page offers, in seconds.
RANGES = {"1h": 3600, "6h": 6 * 3600, "24h": 86400, "7d": 7 * 86400}
DEFAULT_RANGE = "24h"


def threat_landscape() -> list[dict[str, Any]]:
    """Open threats by kind: a count per severity and the total, most threats first."""
    rows = (
        Threat.objects.filter(status=ThreatStatus.OPEN)
        .values("kind", "severity")
        .annotate(n=Count("id"))
        .order_by()
    )
    kinds: dict[str, dict[str, Any]] = {}
    for row in rows:
        kind = kinds.setdefault(row["kind"], {"kind": row["kind"], "total": 0, "by": {}})
        kind["by"][Severity(row["severity"]).label] = row["n"]
        kind["total"] += row["n"]
    for kind in kinds.values():
        kind["cells"] = [kind["by"].get(name, 0) for name in reversed(SEVERITIES)]
    return sorted(kinds.values(), key=lambda kind: (-kind["total"], kind["kind"]))


def open_threats() -> list[Threat]:
    """The open threats to triage, worst and newest first."""
    threats = security.threat_list(status=ThreatStatus.OPEN).order_by(
        "-severity", "-last_seen", "-id"
    )
    return list(threats[:OPEN_THREATS_SHOWN])


# No address is NULL; no user is "" (comparing the address column with "" would be NULL).
_BLANK = {"source_ip": Q(source_ip__isnull=True), "user_id": Q(user_id="")}


def top_sources(*, start: datetime, field: str) -> list[dict[str, Any]]:
    """The source IPs or users (`field`) with the most events since `start`, with the worst."""
    rows = (
        SecurityEvent.objects.filter(timestamp__gte=start)
        .exclude(_BLANK[field])
        .values(field)
        .annotate(
            n=Count("id"),
            flagged=Count("id", filter=Q(severity__gt=Severity.INFO)),
            worst=Max("severity"),
            last=Max("timestamp"),
        )
        .order_by("-n", field)[:TOP_N]
    )
    return [{"key": row[field], **row, "worst": Severity(row["worst"]).label} for row in rows]


_DETECTIONS_SQL = {
    "sqlite": """
        SELECT json_extract(d.value, '$.detector') AS detector, COUNT(*),
               AVG(json_extract(d.value, '$.score')), MAX(e.timestamp)
        FROM security_securityevent e, json_each(e.detections) d
        WHERE e.timestamp >= %s
        GROUP BY detector ORDER BY COUNT(*) DESC, detector LIMIT %s""",
    "postgresql": """
        SELECT d.value->>'detector' AS detector, COUNT(*),
               AVG((d.value->>'score')::float), MAX(e.timestamp)
        FROM security_securityevent e, jsonb_array_elements(e.detections) d
        WHERE e.timestamp >= %s
        GROUP BY detector ORDER BY COUNT(*) DESC, detector LIMIT %s""",
}


def detections_by_detector(*, start: datetime) -> list[dict[str, Any]]:
    """How often each detector fired since `start`, its mean score and its latest event.

    The detections are a JSON list on each event; the database unnests them (json_each on
    SQLite, jsonb_array_elements on PostgreSQL).
    """
    with connection.cursor() as cursor:
        cursor.execute(_DETECTIONS_SQL[connection.vendor], [start, TOP_N])
        rows = cursor.fetchall()
    return [
        {"detector": detector or "?", "count": count, "mean_score": score, "last": _moment(last)}
        for detector, count, score, last in rows
    ]


def _moment(value: Any) -> datetime | None:
    # SQLite answers MAX() of a datetime column as text; PostgreSQL as a datetime.
    if isinstance(value, str):
        moment = parse_datetime(value)
        return moment if moment is None or moment.tzinfo else moment.replace(tzinfo=UTC)
    return value


def services_reported() -> bool:
    """True once any service other than aivmon itself (its sign-ins, denials) sent an event."""
    return SecurityEvent.objects.exclude(service=SELF_SERVICE).exists()


def blocklist() -> list[BlockListEntry]:
    """IPs and users currently advised blocked."""
    return list(security.blocklist_active(now=timezone.now())[:BLOCKLIST_SHOWN])


def event_timeline(*, start: datetime, end: datetime) -> dict[str, Any]:
    """Security events per minute (or hour) by severity between start and end."""
    return severity_timeline(SecurityEvent.objects.all(), "timestamp", start=start, end=end)
