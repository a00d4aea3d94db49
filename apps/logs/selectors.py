"""Reading log records: one search over time, service, severity, trace, attributes and words."""

import math
import re
from typing import Any

from django.db.models import Q, QuerySet
from django.db.models.fields.json import KeyTransform

from apps.logs import fulltext
from apps.logs.models import LogRecord

_INT = re.compile(r"[+-]?[0-9]{1,18}")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


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
    records = LogRecord.objects.all()
    if start_ns is not None:
        records = records.filter(ts_ns__gte=start_ns)
    if end_ns is not None:
        records = records.filter(ts_ns__lte=end_ns)
    if service is not None:
        records = records.filter(service=service)
    if min_severity is not None:
        records = records.filter(severity_number__gte=min_severity)
    if trace_id is not None:
        records = records.filter(trace_id=trace_id)
    records = json_keys_match(records, "attributes", attributes or {})
    if q is not None:
        records = fulltext.matching(records, q)
    return records.order_by("-ts_ns", "-id")


def json_keys_match(records: QuerySet, field: str, wanted: dict[str, list[str]]) -> QuerySet:
    """Narrow `records` to those whose JSON `field` has, for each key, one of the wanted values.

    A query-string value matches the same text, and also the number or boolean it spells:
    "200" matches 200 and "200", "true" matches true and "true".
    """
    for index, (key, values) in enumerate(wanted.items()):
        alias = f"_json_key_{index}"
        records = records.alias(**{alias: KeyTransform(key, field)})
        condition = Q()
        for value in values:
            for candidate in json_candidates(value):
                condition |= Q(**{alias: candidate})
        records = records.filter(condition)
    return records


def json_candidates(value: str) -> list[Any]:
    """The JSON values a query-string value stands for: itself, and a number or boolean."""
    candidates: list[Any] = [value]
    if _INT.fullmatch(value):
        candidates.append(int(value))
    elif _NUMBER.fullmatch(value) and math.isfinite(float(value)):
        candidates.append(float(value))
    elif value in ("true", "false"):
        candidates.append(value == "true")
    return candidates
