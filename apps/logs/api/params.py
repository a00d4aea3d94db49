"""Reading the query string of the logs API; bad input is a 400 naming the parameter.

The time, text and `attr.<key>=<value>` readers match apps.traces.api.params and
apps.metrics.api.params (epoch seconds or RFC 3339, UTC when no offset is given).
"""

import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from django.http import QueryDict
from rest_framework.exceptions import ValidationError

from apps.logs.constants import SEVERITY_MAX, SEVERITY_MIN, SEVERITY_NUMBERS

ATTR_PREFIX = "attr."
MAX_ATTR_FILTERS = 20
MAX_Q_LENGTH = 1000
MAX_NS = 2**63 - 1
# Attribute keys as OpenTelemetry writes them (http.status_code, service.name, k8s/pod, ...).
_ATTR_KEY = re.compile(r"[\w.\-/:@]{1,200}")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_WHOLE = re.compile(r"[0-9]{1,2}")
_TRACE_ID = re.compile(r"[0-9a-fA-F]{32}")
_NS_PER_S = 1_000_000_000


def _invalid(key: str, message: str) -> ValidationError:
    return ValidationError({key: [message]})


@dataclass(frozen=True, slots=True)
class LogQuery:
    q: str | None = None
    service: str | None = None
    min_severity: int | None = None
    trace_id: str | None = None
    attributes: dict[str, list[str]] = field(default_factory=dict)
    start_ns: int | None = None
    end_ns: int | None = None

    def as_kwargs(self) -> dict:
        return asdict(self)


def log_query(params: QueryDict) -> LogQuery:
    """Return the search GET /api/v1/logs asks for."""
    start_ns, end_ns = time_ns(params, "start"), time_ns(params, "end")
    if start_ns is not None and end_ns is not None and start_ns > end_ns:
        raise _invalid("end", "end must not be before start.")
    q = text(params, "q")
    if q is not None and len(q) > MAX_Q_LENGTH:
        raise _invalid("q", f"At most {MAX_Q_LENGTH} characters.")
    return LogQuery(
        q=q,
        service=text(params, "service"),
        min_severity=severity(params, "min_severity"),
        trace_id=trace_id(params, "trace_id"),
        attributes=attribute_filters(params),
        start_ns=start_ns,
        end_ns=end_ns,
    )


def text(params: QueryDict, key: str) -> str | None:
    """Return a non-empty text parameter, or None when absent or empty."""
    value = params.get(key)
    if not value:
        return None
    if "\x00" in value:
        raise _invalid(key, "Must not contain NUL characters.")
    return value


def severity(params: QueryDict, key: str) -> int | None:
    """Return a severity given by name (WARN, error, ...) or OpenTelemetry number (0..24)."""
    raw = (params.get(key) or "").strip()
    if not raw:
        return None
    number = SEVERITY_NUMBERS.get(raw.upper())
    if number is None and _WHOLE.fullmatch(raw) and SEVERITY_MIN <= int(raw) <= SEVERITY_MAX:
        number = int(raw)
    if number is None:
        names = ", ".join(SEVERITY_NUMBERS)
        raise _invalid(key, f"Give a severity name ({names}) or a number from 0 to 24.")
    return number


def trace_id(params: QueryDict, key: str) -> str | None:
    raw = text(params, key)
    if raw is None:
        return None
    if not _TRACE_ID.fullmatch(raw):
        raise _invalid(key, "A trace id is 32 hex digits.")
    return raw.lower()


def attribute_filters(params: QueryDict) -> dict[str, list[str]]:
    """Return the `attr.<key>=<value>` filters: each key with the values it may have."""
    filters = {}
    for param in params:
        if not param.startswith(ATTR_PREFIX):
            continue
        key, values = param[len(ATTR_PREFIX) :], params.getlist(param)
        if not _ATTR_KEY.fullmatch(key):
            raise _invalid(
                param,
                "An attribute filter is attr.<key>=<value>, the key made of letters, digits"
                " and . _ - / : @ (at most 200).",
            )
        if any("\x00" in value for value in values):
            raise _invalid(param, "Must not contain NUL characters.")
        filters[key] = values
    if len(filters) > MAX_ATTR_FILTERS:
        raise _invalid("attr", f"At most {MAX_ATTR_FILTERS} attribute filters.")
    return filters


def time_ns(params: QueryDict, key: str) -> int | None:
    """Return a time given as epoch seconds or RFC 3339 (UTC if no offset) in epoch ns, or None."""
    raw = params.get(key)
    if not raw:
        return None
    ns = _epoch_ns(raw.strip())
    if ns is None or not 0 <= ns <= MAX_NS:
        raise _invalid(key, "Give epoch seconds or an RFC 3339 time, from 1970 to 2262.")
    return ns


def _epoch_ns(raw: str) -> int | None:
    if _NUMBER.fullmatch(raw):
        try:
            seconds = Decimal(raw)
        except ArithmeticError:  # an exponent beyond what Decimal holds
            return None
        return int(seconds * _NS_PER_S) if abs(seconds) <= MAX_NS else None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * _NS_PER_S + delta.microseconds * 1000
