"""Ingest endpoints: plain Django views on the hot path (no DRF), one transaction per batch,
2xx only after the batch is committed."""

import logging
from collections.abc import Callable
from functools import partial

import orjson
from django.db import OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

from apps.accounts import services as accounts
from apps.accounts.authentication import key_from_headers
from apps.accounts.constants import Scope
from apps.core.errors import error_response
from apps.core.results import WriteResult
from apps.ingest import native, otlp
from apps.ingest.metrics import INGEST_ITEMS
from apps.ingest.scrub import ruleset
from apps.ingest.validation import ItemError, now_ns
from apps.logs.services import logs_write
from apps.metrics.services import points_write
from apps.traces.services import spans_write

logger = logging.getLogger(__name__)

JSON = "application/json"
PROTOBUF = "application/x-protobuf"
RETRY_AFTER_S = "1"


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


def _write(write: Callable[..., WriteResult], items: list) -> WriteResult | HttpResponse:
    """Store the batch; a database that is locked or down becomes a 503 the client retries."""
    if not items:
        return WriteResult()
    try:
        return write(items)
    except OperationalError as exc:
        logger.warning("ingest.backpressure", extra={"error": str(exc)})
        return error_response(
            503, "The database is busy; retry shortly.", headers={"Retry-After": RETRY_AFTER_S}
        )


# --- OTLP/HTTP -------------------------------------------------------------------------------


def _otlp(
    request: HttpRequest,
    *,
    signal: str,
    request_class,
    response_class,
    partial_field,
    decode,
    write,
) -> HttpResponse:
    refusal = _refusal(request, types=(PROTOBUF, JSON))
    if refusal is not None:
        return refusal
    as_json = request.content_type == JSON
    try:
        message = otlp.parse(request.body, is_json=as_json, message_class=request_class)
    except otlp.BadRequest as exc:
        return error_response(400, str(exc))
    decoded = decode(message)
    result = _write(write, decoded.items)
    if isinstance(result, HttpResponse):
        return result
    rejected = decoded.rejected + len(result.rejected)
    reasons = decoded.reasons + [message for _, message in result.rejected[:10]]
    _count(signal, result.accepted, rejected)
    response = response_class()
    if rejected:
        setattr(response.partial_success, partial_field, rejected)
        response.partial_success.error_message = "; ".join(reasons[:10])
    body, content_type = otlp.answer(response, as_json=as_json)
    return HttpResponse(body, content_type=content_type)


@csrf_exempt
@require_POST
def otlp_metrics(request: HttpRequest) -> HttpResponse:
    """Receive an OTLP ExportMetricsServiceRequest."""
    return _otlp(
        request,
        signal="metrics",
        request_class=metrics_service_pb2.ExportMetricsServiceRequest,
        response_class=metrics_service_pb2.ExportMetricsServiceResponse,
        partial_field="rejected_data_points",
        decode=lambda message: otlp.metric_points(message, now_ns=now_ns()),
        write=lambda items: points_write(points=items),
    )


@csrf_exempt
@require_POST
def otlp_traces(request: HttpRequest) -> HttpResponse:
    """Receive an OTLP ExportTraceServiceRequest."""
    return _otlp(
        request,
        signal="spans",
        request_class=trace_service_pb2.ExportTraceServiceRequest,
        response_class=trace_service_pb2.ExportTraceServiceResponse,
        partial_field="rejected_spans",
        decode=lambda message: otlp.spans(message, now_ns=now_ns(), rules=ruleset()),
        write=lambda items: spans_write(spans=items),
    )


@csrf_exempt
@require_POST
def otlp_logs(request: HttpRequest) -> HttpResponse:
    """Receive an OTLP ExportLogsServiceRequest."""
    return _otlp(
        request,
        signal="logs",
        request_class=logs_service_pb2.ExportLogsServiceRequest,
        response_class=logs_service_pb2.ExportLogsServiceResponse,
        partial_field="rejected_log_records",
        decode=lambda message: otlp.log_records(message, now_ns=now_ns(), rules=ruleset()),
        write=lambda items: logs_write(logs=items),
    )


# --- native JSON batches ---------------------------------------------------------------------


def _native(request: HttpRequest, *, signal: str, list_key: str, build, write) -> HttpResponse:
    refusal = _refusal(request, types=(JSON,))
    if refusal is not None:
        return refusal
    try:
        service, raw_items = native.batch_items(orjson.loads(request.body), list_key)
    except orjson.JSONDecodeError as exc:
        return error_response(400, f"Malformed JSON: {exc}")
    except ItemError as exc:
        return error_response(400, str(exc))
    batch = native.decode(raw_items, partial(build, service=service))
    result = _write(write, batch.items)
    if isinstance(result, HttpResponse):
        return result
    errors = batch.errors + [(batch.positions[i], message) for i, message in result.rejected]
    _count(signal, result.accepted, len(errors))
    body = {
        "accepted": result.accepted,
        "rejected": len(errors),
        "errors": [{"index": i, "message": m} for i, m in sorted(errors)],
    }
    return JsonResponse(body, status=200 if result.accepted else 400)


@csrf_exempt
@require_POST
def native_metrics(request: HttpRequest) -> HttpResponse:
    """Receive a native batch of metric points."""
    return _native(
        request,
        signal="metrics",
        list_key="points",
        build=partial(native.metric_point, now_ns=now_ns()),
        write=lambda items: points_write(points=items),
    )


@csrf_exempt
@require_POST
def native_spans(request: HttpRequest) -> HttpResponse:
    """Receive a native batch of spans."""
    return _native(
        request,
        signal="spans",
        list_key="spans",
        build=partial(native.span, now_ns=now_ns(), rules=ruleset()),
        write=lambda items: spans_write(spans=items),
    )


@csrf_exempt
@require_POST
def native_logs(request: HttpRequest) -> HttpResponse:
    """Receive a native batch of log records."""
    return _native(
        request,
        signal="logs",
        list_key="logs",
        build=partial(native.log_record, now_ns=now_ns(), rules=ruleset()),
        write=lambda items: logs_write(logs=items),
    )


def _count(signal: str, accepted: int, rejected: int) -> None:
    INGEST_ITEMS.labels(signal=signal, outcome="accepted").inc(accepted)
    INGEST_ITEMS.labels(signal=signal, outcome="rejected").inc(rejected)
