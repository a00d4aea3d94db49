"""Reading the query string of the traces API; bad input is a 400 naming the parameter.

The time, text and `attr.<key>=<value>` readers match apps.logs.api.params and
apps.metrics.api.params (epoch seconds or RFC 3339, UTC when no offset is given).
"""

import math
import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from django.http import QueryDict
from rest_framework.exceptions import ValidationError

from apps.traces.constants import MAX_NS, SPAN_STATUSES

ATTR_PREFIX = "attr."
MAX_ATTR_FILTERS = 20
# Attribute keys as OpenTelemetry writes them (http.status_code, service.name, k8s/pod, ...).
_ATTR_KEY = re.compile(r"[\w.\-/:@]{1,200}")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_NS_PER_S = 1_000_000_000


def _invalid(key: str, message: str) -> ValidationError:
    return ValidationError({key: [message]})


@dataclass(frozen=True, slots=True)
class TraceQuery:
    service: str | None = None
    name: str | None = None
    status: str | None = None
    min_duration_ms: float | None = None
    max_duration_ms: float | None = None
    attributes: dict[str, list[str]] = field(default_factory=dict)
    start_ns: int | None = None
    end_ns: int | None = None

    def as_kwargs(self) -> dict:
        return asdict(self)


def trace_query(params: QueryDict) -> TraceQuery:
    """Return the search GET /api/v1/traces asks for."""
    start_ns, end_ns = time_ns(params, "start"), time_ns(params, "end")
    if start_ns is not None and end_ns is not None and start_ns > end_ns:
        raise _invalid("end", "end must not be before start.")
    status = text(params, "status")
    if status is not None and status.upper() not in SPAN_STATUSES:
        raise _invalid("status", f"status must be one of {', '.join(SPAN_STATUSES)}.")
    return TraceQuery(
        service=text(params, "service"),
        name=text(params, "name"),
        status=status.upper() if status else None,
        min_duration_ms=milliseconds(params, "min_duration_ms"),
        max_duration_ms=milliseconds(params, "max_duration_ms"),
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


def milliseconds(params: QueryDict, key: str) -> float | None:
    raw = params.get(key)
    if not raw:
        return None
    value = float(raw) if _NUMBER.fullmatch(raw) else math.nan
    if not (math.isfinite(value) and value >= 0):
        raise _invalid(key, "Must be a number of milliseconds, 0 or more.")
    return value


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
                "An attribute filter is attr.<key>=<value>, the key made of "
                "letters, digits and . _ - / : @ (at most 200).",
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
