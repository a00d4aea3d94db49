"""Reading the query string of the logs API; bad input is a 400 naming the parameter.

The time, text and `attr.<key>=<value>` readers are apps.core.params', shared with traces.
"""

import re
from dataclasses import asdict, dataclass, field

from django.http import QueryDict

from apps.core.params import attribute_filters, invalid, text, time_range_ns
from apps.logs.constants import SEVERITY_MAX, SEVERITY_MIN, SEVERITY_NUMBERS

MAX_Q_LENGTH = 1000
_WHOLE = re.compile(r"[0-9]{1,2}")
_TRACE_ID = re.compile(r"[0-9a-fA-F]{32}")


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
    start_ns, end_ns = time_range_ns(params)
    q = text(params, "q")
    if q is not None and len(q) > MAX_Q_LENGTH:
        raise invalid("q", f"At most {MAX_Q_LENGTH} characters.")
    return LogQuery(
        q=q,
        service=text(params, "service"),
        min_severity=severity(params, "min_severity"),
        trace_id=trace_id(params, "trace_id"),
        attributes=attribute_filters(params),
        start_ns=start_ns,
        end_ns=end_ns,
    )


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
        raise invalid(key, f"Give a severity name ({names}) or a number from 0 to 24.")
    return number


def trace_id(params: QueryDict, key: str) -> str | None:
    raw = text(params, key)
    if raw is None:
        return None
    if not _TRACE_ID.fullmatch(raw):
        raise invalid(key, "A trace id is 32 hex digits.")
    return raw.lower()
