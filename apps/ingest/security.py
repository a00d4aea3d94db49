"""POST /api/v1/ingest/security-events: validate a batch, score it with every detector, store it.

The detectors see the params as sent; what is stored is validated, truncated and scrubbed.
Validation runs once an item, in one pass over the batch: what repeats from event to event
(addresses, methods, event types, param names and values) is checked or scrubbed once a batch.
"""

import gc
import ipaddress
import logging
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import orjson
import redis
from django.db import OperationalError
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from apps.core.errors import error_response
from apps.ingest import native
from apps.ingest import validation as check
from apps.ingest.constants import (
    MAX_ATTRIBUTE_KEY_LEN,
    MAX_ATTRIBUTE_VALUE_LEN,
    MAX_ATTRIBUTES,
    SCRUBBED,
)
from apps.ingest.metrics import INGEST_ITEMS
from apps.ingest.scrub import Ruleset, ruleset
from apps.ingest.validation import Clock, ItemError, clock
from apps.ingest.views import JSON, RETRY_AFTER_S, _refusal, post_only
from apps.security.constants import (
    ENDPOINT_MAX_LENGTH,
    EVENT_TYPE_MAX_LENGTH,
    MAX_EVENTS_PER_BATCH,
    SERVICE_MAX_LENGTH,
    USER_AGENT_MAX_LENGTH,
    USER_ID_MAX_LENGTH,
)
from apps.security.detectors.base import Event
from apps.security.services import Kept, events_ingest

logger = logging.getLogger(__name__)

EVENT_TYPE = re.compile(r"[a-z][a-z0-9_.\-]*\Z")
METHOD = re.compile(r"[A-Za-z]{1,16}\Z")
# Exactly the IPv4 addresses ipaddress accepts and writes back unchanged (no leading zeros).
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
CANONICAL_IPV4 = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")


@csrf_exempt
@post_only
def native_security_events(request: HttpRequest) -> HttpResponse:
    """Receive a batch of security events; answer each accepted event's score and detections."""
    refusal = _refusal(request, types=(JSON,))
    if refusal is not None:
        return refusal
    try:
        service, raw_items = native.batch_items(orjson.loads(request.body), "events")
    except orjson.JSONDecodeError as exc:
        return error_response(400, f"Malformed JSON: {exc}")
    except ItemError as exc:
        return error_response(400, str(exc))
    if len(raw_items) > MAX_EVENTS_PER_BATCH:
        return error_response(400, f'"events": at most {MAX_EVENTS_PER_BATCH} a batch')
    with gc_paused():
        batch = events_decode(raw_items, service=service, clock=clock())
        return _answer(batch, ruleset())


def _answer(batch: "EventBatch", rules: Ruleset) -> HttpResponse:
    try:
        results = (
            events_ingest(events=batch.events, kept=batch.kept, scrub=scrubber(rules))
            if batch.events
            else []
        )
    except (OperationalError, redis.RedisError) as exc:
        logger.warning("ingest.security.unavailable", extra={"error": str(exc)})
        return error_response(
            503,
            "Storage is busy or unreachable; retry shortly.",
            headers={"Retry-After": RETRY_AFTER_S},
        )
    INGEST_ITEMS.labels(signal="security", outcome="accepted").inc(len(results))
    INGEST_ITEMS.labels(signal="security", outcome="rejected").inc(len(batch.errors))
    shown: dict[int, dict] = {}  # results are shared: one serves every event nothing was found in
    for result in results:
        if id(result) not in shown:
            shown[id(result)] = result.as_json()
    body = {
        "accepted": len(results),
        "rejected": len(batch.errors),
        "errors": [{"index": i, "message": m} for i, m in batch.errors],
        "results": [
            {"index": index, **shown[id(result)]}
            for index, result in zip(batch.positions, results, strict=True)
        ],
    }
    return HttpResponse(
        orjson.dumps(body), status=200 if results else 400, content_type="application/json"
    )


class _Collector:
    """How many requests of this process hold the cyclic garbage collector off, and whether
    it ran before the first of them."""

    lock = threading.Lock()
    pauses = 0
    was_enabled = False


@contextmanager
def gc_paused() -> Iterator[None]:
    """Hold the cyclic garbage collector off while a batch is handled. Nearly all of a batch's
    objects die by reference counting when it is answered; collections in between (a dozen a
    batch of 500) would only walk them. The collector counts on and runs after the batch."""
    with _Collector.lock:
        if _Collector.pauses == 0:
            _Collector.was_enabled = gc.isenabled()
            gc.disable()
        _Collector.pauses += 1
    try:
        yield
    finally:
        with _Collector.lock:
            _Collector.pauses -= 1
            if _Collector.pauses == 0 and _Collector.was_enabled:
                gc.enable()


class EventBatch:
    """The decoded batch: events as the detectors see them, their params and details as they
    are to be stored (checked and truncated, not yet scrubbed), their positions in the
    request, and the refused items with the reason."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.kept: list[Kept] = []
        self.positions: list[int] = []
        self.errors: list[tuple[int, str]] = []


class _Seen:
    """What one batch has already checked: values that repeat from event to event."""

    def __init__(self, service: str) -> None:
        self.service = service[:SERVICE_MAX_LENGTH]
        self.event_types: set[str] = set()
        self.ips: dict[str, str] = {}
        self.methods: dict[str, str] = {}


def events_decode(items: list, *, service: str, clock: Clock) -> EventBatch:
    """Build every item; an item that fails is refused with its index and reason."""
    batch, seen = EventBatch(), _Seen(service)
    for index, raw in enumerate(items):
        try:
            if type(raw) is not dict:
                raise ItemError("each item must be a JSON object")
            event, kept = _event(raw, seen, clock)
        except ItemError as exc:
            batch.errors.append((index, str(exc)))
            continue
        batch.events.append(event)
        batch.kept.append(kept)
        batch.positions.append(index)
    return batch


def security_event(raw: dict, *, service: str, clock: Clock) -> Event:
    """Build one event: checked fields, params and details kept as sent for the detectors."""
    return _event(raw, _Seen(service), clock)[0]


def _event(raw: dict, seen: _Seen, clock: Clock) -> tuple[Event, Kept]:
    """Check one item's fields in the order their messages are owed; the common shapes of each
    field take a short path, anything else the general check."""
    ts_ns = _timestamp_ns(raw.get("timestamp"), clock)
    params, details = raw.get("params"), raw.get("details")
    kept = (_attributes(params, "params"), _attributes(details, "details"))
    event_type = raw.get("event_type")
    if type(event_type) is not str or event_type not in seen.event_types:
        event_type = _event_type(event_type)
        seen.event_types.add(event_type)
    own_service = raw.get("service")
    event = Event(
        timestamp=ts_ns / 1e9,
        event_type=event_type,
        service=seen.service if own_service is None else _service(own_service),
        user_id=_user_id(raw.get("user_id")),
        source_ip=_source_ip(raw.get("source_ip"), seen.ips),
        endpoint=_text(raw.get("endpoint"), "endpoint", ENDPOINT_MAX_LENGTH),
        method=_cached_method(raw.get("method"), seen.methods),
        params=params or {},
        user_agent=_text(raw.get("user_agent"), "user_agent", USER_AGENT_MAX_LENGTH),
        details=details or {},
    )
    return event, kept


def _timestamp_ns(raw: Any, clock: Clock) -> int:
    if raw is None:
        return clock.now_ns
    if (type(raw) is float or type(raw) is int) and 0 <= raw < 1e11:
        ns = check.seconds_ns(float(raw))  # as check.timestamp_ns computes it
        if clock.oldest_ns <= ns <= clock.newest_ns:
            return ns
        return check.in_window(ns, "timestamp", clock=clock)
    return check.timestamp_ns(raw, "timestamp", clock=clock, default_now=True)


def _attributes(raw: Any, field: str) -> dict[str, Any]:
    """check.attributes: a flat object of short texts, integers, booleans and nulls is already
    what it returns (the usual params and details), so it is kept as it is."""
    if type(raw) is dict and len(raw) <= MAX_ATTRIBUTES:
        for key, value in raw.items():
            if type(key) is not str or len(key) > MAX_ATTRIBUTE_KEY_LEN:
                break
            if type(value) is str:
                if len(value) > MAX_ATTRIBUTE_VALUE_LEN:
                    break
            elif value is not None and type(value) is not int and type(value) is not bool:
                break
        else:
            return raw
    return check.attributes(raw, field)


def _text(raw: Any, field: str, max_len: int) -> str:
    if type(raw) is str and len(raw) <= max_len:
        return raw
    return check.text(raw, field, max_len)


def _event_type(raw: Any) -> str:
    if not isinstance(raw, str) or not raw:
        raise ItemError("event_type: required, a string such as auth_failure or request")
    if len(raw) > EVENT_TYPE_MAX_LENGTH or not EVENT_TYPE.match(raw):
        raise ItemError(
            f"event_type: lower-case letters, digits and _ . - (at most {EVENT_TYPE_MAX_LENGTH})"
        )
    return raw


def _service(raw: Any) -> str:
    return check.text(raw, "service", SERVICE_MAX_LENGTH, required=True)


def _user_id(raw: Any) -> str:
    if type(raw) is str and len(raw) <= USER_ID_MAX_LENGTH:
        return raw
    if isinstance(raw, int) and not isinstance(raw, bool):
        return str(raw)
    if raw is not None and (not isinstance(raw, str) or len(raw) > USER_ID_MAX_LENGTH):
        raise ItemError(f"user_id: a string (at most {USER_ID_MAX_LENGTH} characters) or a number")
    return raw or ""


def _source_ip(raw: Any, seen: dict[str, str]) -> str:
    if type(raw) is not str:
        return source_ip(raw)
    found = seen.get(raw)
    if found is None:
        found = seen[raw] = source_ip(raw)
    return found


def source_ip(raw: Any) -> str:
    """Return an IPv4 or IPv6 address in its canonical form ("" when absent)."""
    if raw is None or raw == "":
        return ""
    if not isinstance(raw, str) or len(raw) > 45 or "%" in raw:
        raise ItemError("source_ip: must be an IPv4 or IPv6 address")
    if CANONICAL_IPV4.fullmatch(raw):
        return raw
    try:
        address = ipaddress.ip_address(raw.strip())
    except ValueError:
        raise ItemError("source_ip: must be an IPv4 or IPv6 address") from None
    mapped = getattr(address, "ipv4_mapped", None)
    return str(mapped or address)


def _cached_method(raw: Any, seen: dict[str, str]) -> str:
    if type(raw) is not str:
        return _method(raw)
    found = seen.get(raw)
    if found is None:
        found = seen[raw] = _method(raw)
    return found


def _method(raw: Any) -> str:
    if raw is None or raw == "":
        return ""
    if not isinstance(raw, str) or not METHOD.match(raw):
        raise ItemError("method: an HTTP method such as GET or POST")
    return raw.upper()


def scrubber(rules: Ruleset) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Return what rules.attributes makes of checked params or details, for one batch: each
    distinct name is judged, and each distinct text scrubbed, once a batch."""
    secret: dict[str, bool] = {}
    texts: dict[str, str] = {}

    def scrub(attrs: dict[str, Any]) -> dict[str, Any]:
        scrubbed: dict[str, Any] = {}
        for key, value in attrs.items():
            hidden = secret.get(key)
            if hidden is None:
                hidden = secret[key] = bool(key) and any(p.search(key) for p in rules.keys)
            if hidden:
                scrubbed[key] = SCRUBBED
            elif type(value) is str:
                text = texts.get(value)
                if text is None:
                    text = texts[value] = rules.text(value)
                scrubbed[key] = text
            elif type(value) is dict or type(value) is list:
                scrubbed[key] = rules.attributes({key: value})[key]  # as the rules walk it
            else:
                scrubbed[key] = value
        return scrubbed

    return scrub
