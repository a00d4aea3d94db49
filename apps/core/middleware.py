"""Request guards and request metrics, ahead of every view."""

import io
import time
import zlib
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from apps.core.errors import error_response
from apps.core.http import parse_whole_number
from apps.core.metrics import observe_request

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class RequestBodyMiddleware:
    """Refuse bodies over the limit and chunked bodies the server cannot end; inflate gzip
    bodies within the limit."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        refusal = body_refusal(request, settings.AIVMON_MAX_BODY_BYTES)
        if refusal is not None:
            return refusal
        return self.get_response(request)


def body_refusal(request: HttpRequest, limit: int) -> HttpResponse | None:
    """Return an error response for an unacceptable body, or None (inflating gzip in place)."""
    if request.method not in BODY_METHODS:
        return None
    raw_length = request.META.get("CONTENT_LENGTH", "")
    if raw_length in ("", None):
        # Without Transfer-Encoding either, there is no body (RFC 9112 6.3).
        if "HTTP_TRANSFER_ENCODING" not in request.META:
            return None
        refusal = _read_unsized(request, limit)
    else:
        refusal = _length_refusal(str(raw_length), limit)
    if refusal is not None:
        return refusal
    encoding = request.META.get("HTTP_CONTENT_ENCODING", "identity").strip().lower()
    if encoding in ("", "identity"):
        return None
    if encoding != "gzip":
        return error_response(415, f"Content-Encoding {encoding!r} is not supported; use gzip.")
    return _inflate_gzip(request, limit)


def _length_refusal(raw_length: str, limit: int) -> HttpResponse | None:
    length = parse_whole_number(raw_length)
    if length is None:
        return error_response(400, "Content-Length is not a number.")
    if length > limit:
        return _too_large(limit)
    return None


def _read_unsized(request: HttpRequest, limit: int) -> HttpResponse | None:
    """Read a body sent without a length (chunked) to its end, up to the limit.

    Django reads such a body as empty, so it is read here, but only where the WSGI server marks
    its input as ending with the body (wsgi.input_terminated: gunicorn de-chunks it); elsewhere
    (runserver) reading could block or lose it, so the answer is 411.
    """
    stream = request.META.get("wsgi.input")
    if not request.META.get("wsgi.input_terminated") or stream is None:
        return error_response(411, "A request body needs a Content-Length header.")
    chunks, size = [], 0
    try:
        while size <= limit and (chunk := stream.read(limit + 1 - size)):
            chunks.append(chunk)
            size += len(chunk)
    except Exception as exc:  # the server's own error classes for a malformed chunk
        return error_response(400, f"The chunked request body is malformed: {exc}.")
    if size > limit:
        return _too_large(limit)
    _replace_body(request, b"".join(chunks))
    return None


def _replace_body(request: HttpRequest, body: bytes) -> None:
    """Make `body` the request's body, as Django reads it, with its length declared."""
    request._body = body
    request._stream = io.BytesIO(body)  # type: ignore[attr-defined]
    request.META["CONTENT_LENGTH"] = str(len(body))


def _inflate_gzip(request: HttpRequest, limit: int) -> HttpResponse | None:
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        body = inflater.decompress(request.body, limit + 1)
    except zlib.error as exc:
        return error_response(400, f"The gzip body does not decompress: {exc}.")
    if len(body) > limit or inflater.unconsumed_tail:
        return _too_large(limit)
    if not inflater.eof:
        return error_response(400, "The gzip body is truncated.")
    _replace_body(request, body)
    del request.META["HTTP_CONTENT_ENCODING"]
    return None


def _too_large(limit: int) -> HttpResponse:
    return error_response(
        413, f"The request body is larger than {limit} bytes.", details={"limit_bytes": limit}
    )


class RequestMetricsMiddleware:
    """Count requests and time them by route for /metrics."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        observe_request(request, response.status_code, time.perf_counter() - started)
        return response
