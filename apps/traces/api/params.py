"""Reading the query string of the traces API; bad input is a 400 naming the parameter.

The time, text and `attr.<key>=<value>` readers are apps.core.params', shared with logs.
"""

import math
from dataclasses import asdict, dataclass, field

from django.http import QueryDict

from apps.core.params import NUMBER, attribute_filters, invalid, text, time_range_ns
from apps.traces.constants import SPAN_STATUSES


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
    start_ns, end_ns = time_range_ns(params)
    status = text(params, "status")
    if status is not None and status.upper() not in SPAN_STATUSES:
        raise invalid("status", f"status must be one of {', '.join(SPAN_STATUSES)}.")
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


def milliseconds(params: QueryDict, key: str) -> float | None:
    raw = params.get(key)
    if not raw:
        return None
    value = float(raw) if NUMBER.fullmatch(raw) else math.nan
    if not (math.isfinite(value) and value >= 0):
        raise invalid(key, "Must be a number of milliseconds, 0 or more.")
    return value
