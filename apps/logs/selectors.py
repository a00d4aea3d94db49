"""Reading log records: one search over time, service, severity, trace, attributes and words."""

from django.db.models import QuerySet

from apps.core.jsonmatch import json_keys_match
from apps.core.lookups import given_lookups
from apps.logs import fulltext
from apps.logs.models import LogRecord


def log_record_list(
    *,
    q: str | None = None,
    service: str | None = None,
    min_severity: int | None = None,
    trace_id: str | None = None,
    attributes: dict[str, list[str]] | None = None,
    start_ns: int | None = None,
    end_ns: int | None = None,
) -> QuerySet[LogRecord]:
    """Return the matching log records, newest first; `q` is plain words, all required."""
    records = LogRecord.objects.filter(
        **given_lookups(
            ts_ns__gte=start_ns,
            ts_ns__lte=end_ns,
            service=service,
            severity_number__gte=min_severity,
            trace_id=trace_id,
        )
    )
    records = json_keys_match(records, "attributes", attributes or {})
    if q is not None:
        records = fulltext.matching(records, q)
    return records.order_by("-ts_ns", "-id")
