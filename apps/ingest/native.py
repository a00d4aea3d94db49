"""Native JSON batches (API.md "Native batch ingestion") → the storage apps' items.

Each decoder returns the items and, for the refused ones, (index in the batch, message).
"""

from collections.abc import Callable
from functools import partial
from typing import Any

import orjson

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
from apps.metrics.services import PointBatch, PointIn, SeriesIn
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


def each(build: Callable[..., Any]) -> Callable[..., Batch]:
    """Return a decoder that builds item after item with `build` (given the batch's context)."""

    def decode_each(items: list, **context: Any) -> Batch:
        return decode(items, partial(build, **context))

    return decode_each


def _service(raw: dict, default: str) -> str:
    own = raw.get("service")
    if own is None:
        return default  # the batch's service, checked once in batch_items
    return check.text(own, "service", MAX_SERVICE_LEN, required=True)


# --- metrics ---------------------------------------------------------------------------------

# A plain point: a counter or gauge value, or one raw observation of a histogram or timer.
_PLAIN_KINDS = frozenset({"counter", "gauge", "histogram", "timer"})


class MetricBatch:
    """Decoded metric points: plain ones as points_write_batch columns, the rest as PointIn.
    `items` is that PointBatch; the storage names rejected points by their index in the
    request, so `positions` maps every index to itself."""

    def __init__(self, items: list, service: str) -> None:
        self.points = PointBatch()
        # A function of the raw items, not a method: no reference cycle keeps the batch alive
        # until the garbage collector comes by.
        self.points.describe = partial(_plain_series, items, self.points.positions, service)
        self.items = self.points
        self.positions = range(len(items))
        self.errors: list[tuple[int, str]] = []
        self._service = service

    def add_other(self, index: int, raw: dict, clock: check.Clock, rules: Ruleset) -> None:
        """Build the point as metric_point does, or record why it is refused."""
        try:
            point = metric_point(raw, service=self._service, clock=clock, rules=rules)
        except ItemError as exc:
            self.errors.append((index, str(exc)))
            return
        self.points.others.append(point)
        self.points.other_positions.append(index)


def _plain_series(items: list, positions: list[int], service: str, index: int) -> SeriesIn:
    """Check the series of plain point `index` (only for a series the storage has not seen)."""
    raw = items[positions[index]]
    kind = raw["type"]
    return SeriesIn(
        name=check.metric_name(raw.get("name")),
        type=NATIVE_METRIC_TYPES[kind],
        service=_service(raw, service),
        labels=check.labels(raw.get("labels")),
        unit="s" if kind == "timer" else check.text(raw.get("unit"), "unit", 32),
    )


def metric_batch(items: list, *, service: str, clock: check.Clock, rules: Ruleset) -> MetricBatch:
    """Decode metric points in one pass (no free text in points: `rules` is taken for a uniform
    call). A plain point only gets its value and time checked here, and its series named by an
    alias of the very fields that make it; the series itself is checked by `describe` when the
    storage first meets the alias. Any other point goes through metric_point."""
    # One loop, with no call and no object per point but the alias: this loop is most of what
    # a batch costs ingest itself, so it stays whole rather than split into helpers.
    batch = MetricBatch(items, service)
    add_alias, add_ts = batch.points.aliases.append, batch.points.ts_ms.append
    add_value, add_position = batch.points.values.append, batch.points.positions.append
    now_ns, oldest_ns, newest_ns = clock.now_ns, clock.oldest_ns, clock.newest_ns
    dumps = orjson.dumps
    for index, raw in enumerate(items):
        if type(raw) is not dict:
            batch.errors.append((index, "each item must be a JSON object"))
            continue
        kind, name, value = raw.get("type"), raw.get("name"), raw.get("value")
        own, unit, ts = raw.get("service"), raw.get("unit"), raw.get("timestamp")
        if ts is None:
            ts_ns = now_ns
        elif (type(ts) is float or type(ts) is int) and 0 <= ts < 1e11:
            ts_ns = check.seconds_ns(float(ts))  # as check.timestamp_ns computes it
        else:
            ts_ns = -1  # a text time, or one out of range: metric_point reads or refuses it
        if (
            type(kind) is str
            and kind in _PLAIN_KINDS
            and (type(value) is float or type(value) is int)
            and oldest_ns <= ts_ns <= newest_ns
            and type(name) is str
            and (own is None or type(own) is str)
            and (unit is None or type(unit) is str)
        ):
            # orjson reads no NaN or infinity: a float from it is finite.
            # The alias: exactly what the series is described from, as text (which keeps its
            # hash, and fits its length: orjson's bytes keep a 4 kB buffer); the service is the
            # batch's unless the item names its own.
            own = service if own is None else own
            add_alias(dumps((name, kind, own, unit, raw.get("labels"))).decode())
            add_ts(ts_ns // 1_000_000)
            add_value(float(value))
            add_position(index)
        else:
            batch.add_other(index, raw, clock, rules)
    return batch


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
