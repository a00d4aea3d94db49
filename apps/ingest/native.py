"""Native JSON batches (API.md "Native batch ingestion") → the storage apps' items.

Each decoder returns the items and, for the refused ones, (index in the batch, message).
"""

from collections.abc import Callable
from typing import Any

from apps.ingest import validation as check
from apps.ingest.constants import (
    DEFAULT_SERVICE,
    MAX_BODY_LEN,
    MAX_NAME_LEN,
    MAX_SERVICE_LEN,
    NATIVE_METRIC_TYPES,
    SPAN_KINDS,
    SPAN_STATUSES,
)
from apps.ingest.scrub import Ruleset
from apps.ingest.validation import ItemError
from apps.logs.constants import SEVERITY_NUMBERS, severity_text_for
from apps.logs.services import LogIn
from apps.metrics.services import PointIn
from apps.traces.services import SpanIn


class Batch:
    """The decoded batch: items with their positions in the request, and refusals."""

    def __init__(self) -> None:
        self.items: list = []
        self.positions: list[int] = []
        self.errors: list[tuple[int, str]] = []


def batch_items(payload: Any, list_key: str) -> tuple[str, list]:
    """Return the batch's default service and its item list, or raise ItemError for the whole."""
    if not isinstance(payload, dict):
        raise ItemError("the body must be a JSON object")
    items = payload.get(list_key)
    if not isinstance(items, list) or not items:
        raise ItemError(f'"{list_key}" must be a non-empty list')
    service = payload.get("service", DEFAULT_SERVICE)
    if not isinstance(service, str) or not service:
        raise ItemError('"service" must be a non-empty string')
    return check.truncate(service, MAX_SERVICE_LEN), items


def decode(items: list, build: Callable[[dict], Any]) -> Batch:
    """Build every item; an item that fails is refused with its index and reason."""
    batch = Batch()
    for index, raw in enumerate(items):
        try:
            if not isinstance(raw, dict):
                raise ItemError("each item must be a JSON object")
            batch.items.append(build(raw))
            batch.positions.append(index)
        except ItemError as exc:
            batch.errors.append((index, str(exc)))
    return batch


def _service(raw: dict, default: str) -> str:
    own = raw.get("service")
    if own is None:
        return default  # the batch's service, checked once in batch_items
    return check.text(own, "service", MAX_SERVICE_LEN, required=True)


# --- metrics ---------------------------------------------------------------------------------


def metric_point(raw: dict, *, service: str, clock: check.Clock, rules: Ruleset) -> PointIn:
    """Build a metric point (no free text in points: `rules` is taken for a uniform call)."""
    raw_type = raw.get("type")
    kind = NATIVE_METRIC_TYPES.get(raw_type) if isinstance(raw_type, str) else None
    if kind is None:
        raise ItemError("type: must be counter, gauge, histogram or timer")
    ts_ns = check.timestamp_ns(raw.get("timestamp"), "timestamp", clock=clock, default_now=True)
    point = PointIn(
        name=check.metric_name(raw.get("name")),
        type=kind,
        service=_service(raw, service),
        labels=check.labels(raw.get("labels")),
        ts_ms=ts_ns // 1_000_000,
        unit="s" if raw.get("type") == "timer" else check.text(raw.get("unit"), "unit", 32),
    )
    if kind == "histogram" and "value" not in raw:
        _aggregated_histogram(raw, point)
    else:
        point.value = check.finite(raw.get("value"), "value")
    return point


def _aggregated_histogram(raw: dict, point: PointIn) -> None:
    """Fill a pre-aggregated histogram: {"count", "sum", "buckets": {"le": cumulative count}}."""
    point.count = check.count(raw.get("count"), "count")
    point.sum = check.finite(raw.get("sum"), "sum")
    buckets = raw.get("buckets")
    if not isinstance(buckets, dict) or not buckets:
        raise ItemError('a histogram needs "value", or "count", "sum" and "buckets"')
    cumulative = sorted((_bound(le), check.count(n, f"buckets.{le}")) for le, n in buckets.items())
    if any(
        later < earlier
        for (_, earlier), (_, later) in zip(cumulative, cumulative[1:], strict=False)
    ):
        raise ItemError("buckets: counts must not decrease as le grows (they are cumulative)")
    if cumulative[-1][1] > point.count:
        raise ItemError("buckets: a bucket counts more observations than count")
    finite = [(le, n) for le, n in cumulative if le != float("inf")]
    point.bounds = [le for le, _ in finite]
    running = [n for _, n in finite]
    point.bucket_counts = [
        b - a for a, b in zip([0, *running], [*running, point.count], strict=True)
    ]


def _bound(le: str) -> float:
    if le in ("+Inf", "Inf", "inf", "+inf"):
        return float("inf")
    try:
        return check.finite(float(le), f"buckets.{le}")
    except ValueError as exc:
        raise ItemError(f"buckets: {le[:30]!r} is not a number or +Inf") from exc


# --- spans -----------------------------------------------------------------------------------


def span(raw: dict, *, service: str, clock: check.Clock, rules: Ruleset) -> SpanIn:
    start_ns = check.timestamp_ns(raw.get("start_time"), "start_time", clock=clock)
    end_ns = check.timestamp_ns(raw.get("end_time"), "end_time", clock=clock)
    if end_ns < start_ns:
        raise ItemError("end_time is before start_time")
    kind = raw.get("kind", "unspecified")
    status = raw.get("status", "UNSET")
    if kind not in SPAN_KINDS:
        raise ItemError(f"kind: must be one of {', '.join(SPAN_KINDS)}")
    if status not in SPAN_STATUSES:
        raise ItemError(f"status: must be one of {', '.join(SPAN_STATUSES)}")
    return SpanIn(
        trace_id=check.hex_id(raw.get("trace_id"), 32, "trace_id"),
        span_id=check.hex_id(raw.get("span_id"), 16, "span_id"),
        parent_span_id=check.optional_hex_id(raw.get("parent_span_id"), 16, "parent_span_id"),
        service=_service(raw, service),
        name=check.text(raw.get("name"), "name", MAX_NAME_LEN, required=True),
        kind=kind,
        start_ns=start_ns,
        end_ns=end_ns,
        status=status,
        status_message=check.text(raw.get("status_message"), "status_message", MAX_NAME_LEN),
        attributes=rules.attributes(check.attributes(raw.get("attributes"))),
        events=[_event(event, rules, clock) for event in _list(raw.get("events"), "events")],
    )


def _list(raw: Any, field: str) -> list:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ItemError(f"{field}: must be a list")
    return raw


def _event(raw: Any, rules: Ruleset, clock: check.Clock) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ItemError("events: each event must be an object")
    return {
        "name": check.text(raw.get("name"), "events.name", MAX_NAME_LEN, required=True),
        "time_ns": check.timestamp_ns(
            raw.get("timestamp"), "events.timestamp", clock=clock, default_now=True
        ),
        "attributes": rules.attributes(check.attributes(raw.get("attributes"))),
    }


# --- logs ------------------------------------------------------------------------------------


def log_record(raw: dict, *, service: str, clock: check.Clock, rules: Ruleset) -> LogIn:
    number, text = _severity(raw.get("severity", "INFO"))
    body = raw.get("body", "")
    if not isinstance(body, str):
        raise ItemError("body: must be a string")
    return LogIn(
        ts_ns=check.timestamp_ns(raw.get("timestamp"), "timestamp", clock=clock, default_now=True),
        severity_number=number,
        severity_text=text,
        body=rules.text(check.truncate(body, MAX_BODY_LEN)),
        service=_service(raw, service),
        attributes=rules.attributes(check.attributes(raw.get("attributes"))),
        trace_id=check.optional_hex_id(raw.get("trace_id"), 32, "trace_id"),
        span_id=check.optional_hex_id(raw.get("span_id"), 16, "span_id"),
    )


def _severity(raw: Any) -> tuple[int, str]:
    if isinstance(raw, str) and raw.upper() in SEVERITY_NUMBERS:
        return SEVERITY_NUMBERS[raw.upper()], raw.upper()
    if isinstance(raw, int) and not isinstance(raw, bool) and 0 <= raw <= 24:
        return raw, severity_text_for(raw)
    raise ItemError("severity: a name (TRACE, DEBUG, INFO, WARN, ERROR, FATAL) or 0–24")
