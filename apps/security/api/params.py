"""Reading the query strings of the security API; bad input is a 400 naming the parameter."""

from datetime import UTC, datetime

from django.http import QueryDict

from apps.core.params import invalid, text, time_range_ns
from apps.ingest.security import source_ip
from apps.ingest.validation import ItemError
from apps.security.constants import SEVERITY_BY_NAME, ThreatStatus


def severity(params: QueryDict, key: str = "min_severity") -> int | None:
    """Return a severity given by name (info, low, medium, high, critical)."""
    raw = (params.get(key) or "").strip().lower()
    if not raw:
        return None
    if raw not in SEVERITY_BY_NAME:
        raise invalid(key, f"One of {', '.join(SEVERITY_BY_NAME)}.")
    return SEVERITY_BY_NAME[raw]


def canonical_ip(raw: str) -> str | None:
    """`raw` as ingest stores a source IP (IPv4-mapped IPv6 as IPv4); None when not an IP."""
    try:
        return source_ip(raw.strip()) or None
    except ItemError:
        return None


def ip(params: QueryDict, key: str = "source_ip") -> str | None:
    """Return an IP address in the canonical form events are stored in."""
    raw = text(params, key)
    if raw is None:
        return None
    found = canonical_ip(raw)
    if found is None:
        raise invalid(key, "An IPv4 or IPv6 address.")
    return found


def status(params: QueryDict, key: str = "status") -> str | None:
    raw = text(params, key)
    if raw is not None and raw not in ThreatStatus.values:
        raise invalid(key, f"One of {', '.join(ThreatStatus.values)}.")
    return raw


def event_query(params: QueryDict) -> dict:
    """Return the filters GET /api/v1/security/events asks for."""
    start_ns, end_ns = time_range_ns(params)
    return {
        "event_type": text(params, "event_type"),
        "service": text(params, "service"),
        "user_id": text(params, "user_id"),
        "source_ip": ip(params),
        "min_severity": severity(params),
        "start": _moment(start_ns),
        "end": _moment(end_ns),
    }


def threat_query(params: QueryDict) -> dict:
    """Return the filters GET /api/v1/security/threats asks for."""
    return {
        "status": status(params),
        "kind": text(params, "kind"),
        "min_severity": severity(params),
    }


def _moment(ns: int | None) -> datetime | None:
    if ns is None:
        return None
    return datetime.fromtimestamp(ns // 1_000_000_000, UTC).replace(
        microsecond=ns // 1000 % 1_000_000
    )
