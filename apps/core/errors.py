"""The API error envelope: {"error": {"code", "message", "details"}} for every API error."""

import logging
import sys
from http import HTTPStatus
from typing import Any

import redis
from django.db import OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler, set_rollback

from apps.core.observe import security_observe

logger = logging.getLogger(__name__)

API_PREFIXES = ("/api/", "/otlp/")
# A database that is locked, full or down, or a Redis that is down: the request may succeed
# later, so it is a 503 with Retry-After wherever it surfaces, never a 500.
UNAVAILABLE = (OperationalError, redis.ConnectionError, redis.TimeoutError)
RETRY_AFTER_S = "1"
UNAVAILABLE_MESSAGE = "Storage is busy, full or unreachable; retry shortly."

_CODES_BY_STATUS = {
    400: "bad_request",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    411: "length_required",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "throttled",
    500: "server_error",
    503: "unavailable",
}


def error_body(code: str, message: str, details: Any = None) -> dict:
    """Return the envelope for one error."""
    return {"error": {"code": code, "message": message, "details": details}}


def error_response(
    status_code: int,
    message: str,
    *,
    code: str = "",
    details: Any = None,
    headers: dict | None = None,
) -> JsonResponse:
    """Return a JSON error response in the envelope, for plain Django views and middleware."""
    code = code or _CODES_BY_STATUS.get(status_code, "error")
    response = JsonResponse(error_body(code, message, details), status=status_code)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF exception handler: DRF's own answer, re-shaped into the envelope."""
    if isinstance(exc, UNAVAILABLE):
        set_rollback()
        _log_unavailable(exc, context.get("request"))
        return Response(
            error_body("unavailable", UNAVAILABLE_MESSAGE),
            status=503,
            headers={"Retry-After": RETRY_AFTER_S},
        )
    response = exception_handler(exc, context)
    if response is None:
        return None
    _observe_refusal(exc, context.get("request"))
    if isinstance(exc, exceptions.ValidationError):
        code, message, details = "invalid", "The request is not valid.", response.data
    else:
        code, message, details = _describe(exc, response.status_code)
    response.data = error_body(code, message or _status_message(response.status_code), details)
    return response


def _observe_refusal(exc: Exception, request: HttpRequest | None) -> None:
    # A wrong credential or a refused action is what detection looks for; a missing one is not.
    if isinstance(exc, exceptions.AuthenticationFailed):
        security_observe(request, event_type="auth_failure", details={"api": True})
    elif isinstance(exc, exceptions.PermissionDenied):
        security_observe(request, event_type="permission_denied", details={"status": 403})


def _describe(exc: Exception, status_code: int) -> tuple[str, str, Any]:
    if isinstance(exc, exceptions.APIException):
        detail = exc.detail
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else _CODES_BY_STATUS.get(status_code, "error")
        if isinstance(detail, str):
            return code, str(detail), None
        return code, _CODES_BY_STATUS.get(status_code, "error").replace("_", " "), detail
    return _CODES_BY_STATUS.get(status_code, "error"), str(exc), None


def _status_message(status_code: int) -> str:
    # A bare `raise Http404` (or PermissionDenied) has no text: a person still gets a sentence.
    try:
        return HTTPStatus(status_code).phrase.capitalize() + "."
    except ValueError:
        return "The request failed."


def is_api_request(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIXES)


def bad_request(request: HttpRequest, exception: Exception, **kwargs: Any):
    if is_api_request(request):
        return error_response(status.HTTP_400_BAD_REQUEST, "Bad request.")
    return defaults.bad_request(request, exception, **kwargs)


def permission_denied(request: HttpRequest, exception: Exception, **kwargs: Any):
    security_observe(request, event_type="permission_denied", details={"status": 403})
    if is_api_request(request):
        return error_response(status.HTTP_403_FORBIDDEN, "You may not do this.")
    return defaults.permission_denied(request, exception, **kwargs)


def page_not_found(request: HttpRequest, exception: Exception, **kwargs: Any):
    if is_api_request(request):
        return error_response(status.HTTP_404_NOT_FOUND, "No such resource.")
    return defaults.page_not_found(request, exception, **kwargs)


def _log_unavailable(exc: BaseException, request: HttpRequest | None) -> None:
    path = getattr(request, "path", "")
    logger.warning("core.storage.unavailable", extra={"error": str(exc), "path": path})


def server_error(request: HttpRequest, **kwargs: Any):
    exc = sys.exc_info()[1]  # Django calls this handler while the exception is handled
    if isinstance(exc, UNAVAILABLE):
        _log_unavailable(exc, request)
        if is_api_request(request):
            return error_response(503, UNAVAILABLE_MESSAGE, headers={"Retry-After": RETRY_AFTER_S})
        return HttpResponse(
            UNAVAILABLE_MESSAGE,
            status=503,
            content_type="text/plain; charset=utf-8",
            headers={"Retry-After": RETRY_AFTER_S},
        )
    if is_api_request(request):
        return error_response(status.HTTP_500_INTERNAL_SERVER_ERROR, "Internal error.")
    return defaults.server_error(request, **kwargs)
