"""Ingest endpoints: plain Django views on the hot path (no DRF), one transaction per batch,
2xx only after the batch is committed."""

import logging
from collections.abc import Callable, Sized
from dataclasses import dataclass
from typing import Any

import orjson
from django.db import OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from google.protobuf.message import Message
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

from apps.accounts import services as accounts
from apps.accounts.authentication import key_from_headers
from apps.accounts.constants import Scope
from apps.alerts import triggers as alert_triggers
from apps.core.errors import error_response
from apps.core.methods import methods_only
from apps.core.results import WriteResult
from apps.ingest import native, otlp
from apps.ingest.metrics import INGEST_ITEMS
from apps.ingest.scrub import Ruleset, ruleset
from apps.ingest.validation import Clock, ItemError, clock
from apps.logs.services import logs_write
from apps.metrics.services import points_write_batch
from apps.traces.services import spans_write

logger = logging.getLogger(__name__)

JSON = "application/json"
PROTOBUF = "application/x-protobuf"
RETRY_AFTER_S = "1"


post_only = methods_only("POST")


def _refusal(request: HttpRequest, *, types: tuple[str, ...]) -> HttpResponse | None:
    """Authenticate an ingest key and check the content type; return an error or None."""
    raw = key_from_headers(request.META)
    if raw is None:
        return error_response(
            401,
            "Send an API key: Authorization: Bearer <key> or X-API-Key.",
            headers={"WWW-Authenticate": 'Bearer realm="aivmon"'},
        )
    key = accounts.api_key_authenticate(raw=raw)
    if key is None:
        return error_response(
            401, "The API key is unknown, expired or revoked.", code="authentication_failed"
        )
    if not key.has_scope(Scope.INGEST):
        return error_response(403, "This API key lacks the ingest scope.")
    if request.content_type not in types:
        return error_response(415, f"Content-Type must be {' or '.join(types)}.")
    return None


def _write(write: Callable[..., WriteResult], items: Sized) -> WriteResult | HttpResponse:
    """Store the batch; a database that is locked or down becomes a 503 the client retries."""
    if not items:
        return WriteResult()
    try:
        return write(items)
    except OperationalError as exc:
        logger.warning("ingest.backpressure", extra={"error": str(exc)})
        return error_response(
            503,
            "The database is busy, full or unreachable; retry shortly.",
            headers={"Retry-After": RETRY_AFTER_S},
        )


def _metrics_written(result: WriteResult) -> WriteResult:
    """Have the alert rules watching the written metrics evaluated now (after the commit)."""
    alert_triggers.metrics_ingested(result.names)
    return result


# --- the three signals ----------------------------------------------------------------------


@dataclass(frozen=True)
class Signal:
    """How one kind of telemetry is decoded (OTLP and native) and stored."""

    name: str
    list_key: str
    otlp_request: type[Message]
    otlp_response: type[Message]
    partial_field: str
    otlp_decode: Callable[[Message, Clock, Ruleset, bytes | None], otlp.Decoded]
    native_decode: Callable[..., native.Batch | native.MetricBatch]
    write: Callable[[Any], WriteResult]


METRICS = Signal(
    "metrics",
    "points",
    metrics_service_pb2.ExportMetricsServiceRequest,
    metrics_service_pb2.ExportMetricsServiceResponse,
    "rejected_data_points",
    lambda message, now, rules, body: otlp.metric_points(message, clock=now, body=body),
    native.metric_batch,
    lambda batch: _metrics_written(points_write_batch(batch=batch)),
)
SPANS = Signal(
    "spans",
    "spans",
    trace_service_pb2.ExportTraceServiceRequest,
    trace_service_pb2.ExportTraceServiceResponse,
    "rejected_spans",
    lambda message, now, rules, body: otlp.spans(message, clock=now, rules=rules, body=body),
    native.each(native.span),
    lambda items: spans_write(spans=items),
)
LOGS = Signal(
    "logs",
    "logs",
    logs_service_pb2.ExportLogsServiceRequest,
    logs_service_pb2.ExportLogsServiceResponse,
    "rejected_log_records",
    lambda message, now, rules, body: otlp.log_records(message, clock=now, rules=rules, body=body),
    native.each(native.log_record),
    lambda items: logs_write(logs=items),
)


# --- OTLP/HTTP -------------------------------------------------------------------------------


def _otlp(request: HttpRequest, signal: Signal) -> HttpResponse:
    refusal = _refusal(request, types=(PROTOBUF, JSON))
    if refusal is not None:
        return refusal
    as_json = request.content_type == JSON
    try:
        message = otlp.parse(request.body, is_json=as_json, message_class=signal.otlp_request)
    except otlp.BadRequest as exc:
        return error_response(400, str(exc))
    body = None if as_json else request.body  # the lean views re-read protobuf bodies
    decoded = signal.otlp_decode(message, clock(), ruleset(), body)
    result = _write(signal.write, decoded.items)
    if isinstance(result, HttpResponse):
        return result
    rejected = decoded.rejected + len(result.rejected)
    reasons = decoded.reasons + [reason for _, reason in result.rejected[:10]]
    _count(signal.name, result.accepted, rejected)
    response = signal.otlp_response()
    if rejected:
        setattr(response.partial_success, signal.partial_field, rejected)
        response.partial_success.error_message = "; ".join(reasons[:10])
    body, content_type = otlp.answer(response, as_json=as_json)
    return HttpResponse(body, content_type=content_type)


# --- native JSON batches ---------------------------------------------------------------------


def _native(request: HttpRequest, signal: Signal) -> HttpResponse:
    refusal = _refusal(request, types=(JSON,))
    if refusal is not None:
        return refusal
    try:
        service, raw_items = native.batch_items(orjson.loads(request.body), signal.list_key)
    except orjson.JSONDecodeError as exc:
        return error_response(400, f"Malformed JSON: {exc}")
    except ItemError as exc:
        return error_response(400, str(exc))
    batch = signal.native_decode(raw_items, service=service, clock=clock(), rules=ruleset())
    result = _write(signal.write, batch.items)
    if isinstance(result, HttpResponse):
        return result
    errors = batch.errors + [(batch.positions[i], reason) for i, reason in result.rejected]
    _count(signal.name, result.accepted, len(errors))
    body = {
        "accepted": result.accepted,
        "rejected": len(errors),
        "errors": [{"index": i, "message": m} for i, m in sorted(errors)],
    }
    return JsonResponse(body, status=200 if result.accepted else 400)


def _endpoint(handle: Callable[[HttpRequest, Signal], HttpResponse], signal: Signal, doc: str):
    @csrf_exempt
    @post_only
    def view(request: HttpRequest) -> HttpResponse:
        return handle(request, signal)

    view.__doc__ = doc
    view.__name__ = f"{handle.__name__.strip('_')}_{signal.name}"
    return view


otlp_metrics = _endpoint(_otlp, METRICS, "Receive an OTLP ExportMetricsServiceRequest.")
otlp_traces = _endpoint(_otlp, SPANS, "Receive an OTLP ExportTraceServiceRequest.")
otlp_logs = _endpoint(_otlp, LOGS, "Receive an OTLP ExportLogsServiceRequest.")
native_metrics = _endpoint(_native, METRICS, "Receive a native batch of metric points.")
native_spans = _endpoint(_native, SPANS, "Receive a native batch of spans.")
native_logs = _endpoint(_native, LOGS, "Receive a native batch of log records.")


def _count(signal: str, accepted: int, rejected: int) -> None:
    INGEST_ITEMS.labels(signal=signal, outcome="accepted").inc(accepted)
    INGEST_ITEMS.labels(signal=signal, outcome="rejected").inc(rejected)
