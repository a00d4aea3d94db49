"""POST /api/v1/ingest/security-events: validate a batch, score it with every detector, store it.

The detectors see the params as sent; what is stored is validated, truncated and scrubbed.
"""

import ipaddress
import logging
import re
from typing import Any

import orjson
import redis
from django.db import OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from apps.core.errors import error_response
from apps.ingest import native
from apps.ingest import validation as check
from apps.ingest.metrics import INGEST_ITEMS
from apps.ingest.scrub import Ruleset, ruleset
from apps.ingest.validation import Clock, ItemError, clock
from apps.ingest.views import JSON, RETRY_AFTER_S, _refusal
from apps.security.constants import (
    ENDPOINT_MAX_LENGTH,
    EVENT_TYPE_MAX_LENGTH,
    MAX_EVENTS_PER_BATCH,
    SERVICE_MAX_LENGTH,
    USER_AGENT_MAX_LENGTH,
    USER_ID_MAX_LENGTH,
)
from apps.security.detectors.base import Event
from apps.security.services import events_ingest

logger = logging.getLogger(__name__)

EVENT_TYPE = re.compile(r"[a-z][a-z0-9_.\-]*\Z")
METHOD = re.compile(r"[A-Za-z]{1,16}\Z")


@csrf_exempt
@require_POST
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
    now, rules = clock(), ruleset()
    batch = native.decode(raw_items, lambda raw: security_event(raw, service=service, clock=now))
    return _answer(batch, rules)


def _answer(batch: native.Batch, rules: Ruleset) -> HttpResponse:
    try:
        results = events_ingest(events=batch.items, scrub=_stored(rules)) if batch.items else []
    except (OperationalError, redis.RedisError) as exc:
        logger.warning("ingest.security.unavailable", extra={"error": str(exc)})
        return error_response(
            503,
            "Storage is busy or unreachable; retry shortly.",
            headers={"Retry-After": RETRY_AFTER_S},
        )
    INGEST_ITEMS.labels(signal="security", outcome="accepted").inc(len(results))
    INGEST_ITEMS.labels(signal="security", outcome="rejected").inc(len(batch.errors))
    body = {
        "accepted": len(results),
        "rejected": len(batch.errors),
        "errors": [{"index": i, "message": m} for i, m in batch.errors],
        "results": [
            {"index": index, **result.as_json()}
            for index, result in zip(batch.positions, results, strict=True)
        ],
    }
    return JsonResponse(body, status=200 if results else 400)


def _stored(rules: Ruleset):
    """Return what turns params or details into their stored form: truncated, then scrubbed."""
    return lambda value: rules.attributes(check.attributes(value))


def security_event(raw: dict, *, service: str, clock: Clock) -> Event:
    """Build one event: checked fields, params and details kept as sent for the detectors."""
    ts_ns = check.timestamp_ns(raw.get("timestamp"), "timestamp", clock=clock, default_now=True)
    params, details = raw.get("params"), raw.get("details")
    check.attributes(params, "params")  # bounded nesting, JSON-safe; stored scrubbed later
    check.attributes(details, "details")
    return Event(
        timestamp=ts_ns / 1e9,
        event_type=_event_type(raw.get("event_type")),
        service=_service(raw.get("service"), service),
        user_id=_user_id(raw.get("user_id")),
        source_ip=source_ip(raw.get("source_ip")),
        endpoint=check.text(raw.get("endpoint"), "endpoint", ENDPOINT_MAX_LENGTH),
        method=_method(raw.get("method")),
        params=params or {},
        user_agent=check.text(raw.get("user_agent"), "user_agent", USER_AGENT_MAX_LENGTH),
        details=details or {},
    )


def _event_type(raw: Any) -> str:
    if not isinstance(raw, str) or not raw:
        raise ItemError("event_type: required, a string such as auth_failure or request")
    if len(raw) > EVENT_TYPE_MAX_LENGTH or not EVENT_TYPE.match(raw):
        raise ItemError(
            f"event_type: lower-case letters, digits and _ . - (at most {EVENT_TYPE_MAX_LENGTH})"
        )
    return raw


def _service(raw: Any, default: str) -> str:
    if raw is None:
        return default[:SERVICE_MAX_LENGTH]
    return check.text(raw, "service", SERVICE_MAX_LENGTH, required=True)


def _user_id(raw: Any) -> str:
    if isinstance(raw, int) and not isinstance(raw, bool):
        return str(raw)
    if raw is not None and (not isinstance(raw, str) or len(raw) > USER_ID_MAX_LENGTH):
        raise ItemError(f"user_id: a string (at most {USER_ID_MAX_LENGTH} characters) or a number")
    return raw or ""


def source_ip(raw: Any) -> str:
    """Return an IPv4 or IPv6 address in its canonical form ("" when absent)."""
    if raw is None or raw == "":
        return ""
    if not isinstance(raw, str) or len(raw) > 45 or "%" in raw:
        raise ItemError("source_ip: must be an IPv4 or IPv6 address")
    try:
        address = ipaddress.ip_address(raw.strip())
    except ValueError:
        raise ItemError("source_ip: must be an IPv4 or IPv6 address") from None
    mapped = getattr(address, "ipv4_mapped", None)
    return str(mapped or address)


def _method(raw: Any) -> str:
    if raw is None or raw == "":
        return ""
    if not isinstance(raw, str) or not METHOD.match(raw):
        raise ItemError("method: an HTTP method such as GET or POST")
    return raw.upper()
