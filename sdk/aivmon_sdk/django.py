"""Django integration (`pip install "aivmon-sdk[django]"`).

    MIDDLEWARE = ["aivmon_sdk.django.Middleware", ...]   # first, so it sees every response
    AIVMON_SDK = {"service_name": "shop", "endpoint": "http://aivmon:8000", "api_key": "…"}

Per request: a server span `<METHOD> <route>`; RED metrics per route (`http_requests_total`
by route, method and status; `http_request_duration_seconds` by route and method); a
`request` security event carrying the query and form parameters (sampled, size-capped, secrets
masked) for aivmon's detectors; `permission_denied` on a 403. From django.contrib.auth's
signals: `auth_failure` and `auth_success`. `AIVMON_SDK` may also hold the options below, or
an `ObservabilitySystem` can be handed over with `install(obs)`.
"""

import random
import threading
from collections.abc import Callable
from contextlib import suppress
from time import perf_counter
from typing import Any

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.http import HttpRequest, HttpResponse
from django.http.request import RawPostDataException
from opentelemetry import trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from aivmon_sdk.core import ObservabilitySystem

# Options read from settings.AIVMON_SDK besides ObservabilitySystem's own arguments.
DEFAULTS: dict[str, Any] = {
    "request_events": True,
    "request_event_sample_rate": 1.0,  # share of requests (with parameters) reported
    "max_params": 30,
    "max_param_chars": 512,
    "masked_params": ("password", "passwd", "secret", "token", "csrfmiddlewaretoken", "api_key"),
    "client_ip_header": None,  # e.g. "HTTP_X_FORWARDED_FOR" behind a trusted proxy
}
MASK = "[masked]"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
DURATION_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

_lock = threading.Lock()
_installed: dict[str, Any] = {}


def install(obs: ObservabilitySystem, **options: Any) -> None:
    """Use this ObservabilitySystem (and these options) rather than settings.AIVMON_SDK."""
    with _lock:
        _installed.update(obs=obs, options={**DEFAULTS, **options})


def _configured() -> tuple[ObservabilitySystem, dict[str, Any]]:
    with _lock:
        if "obs" not in _installed:
            config = dict(getattr(settings, "AIVMON_SDK", {}))
            options = {k: config.pop(k, v) for k, v in DEFAULTS.items()}
            _installed.update(obs=ObservabilitySystem(**config), options=options)
        return _installed["obs"], _installed["options"]


class Middleware:
    """Spans, RED metrics and security events for every request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.obs, self.options = _configured()
        self.requests = self.obs.counter("http_requests_total", "HTTP requests served")
        self.duration = self.obs.histogram(
            "http_request_duration_seconds", "HTTP request duration", "s", DURATION_BUCKETS_S
        )
        self.propagator = TraceContextTextMapPropagator()
        # Plain functions, held strongly: a bound method would go with this instance.
        user_login_failed.connect(_login_failed, weak=False, dispatch_uid="aivmon_sdk.login_failed")
        user_logged_in.connect(_logged_in, weak=False, dispatch_uid="aivmon_sdk.logged_in")

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = perf_counter()
        parent = self.propagator.extract(request.headers)
        with self.obs.tracer.start_as_current_span(
            request.method or "HTTP", context=parent, kind=trace.SpanKind.SERVER
        ) as span:
            response = self.get_response(request)
            route = _route(request)
            span.update_name(f"{request.method} {route}")
            span.set_attributes(
                {
                    "http.request.method": request.method or "",
                    "http.route": route,
                    "url.path": request.path,
                    "http.response.status_code": response.status_code,
                }
            )
            if response.status_code >= 500:
                span.set_status(trace.StatusCode.ERROR, f"HTTP {response.status_code}")
        labels = {"route": route, "method": request.method or ""}
        self.duration.record(perf_counter() - started, labels)
        self.requests.add(1, {**labels, "status": str(response.status_code)})
        self._report(request, response, route)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> None:
        span = trace.get_current_span()
        span.record_exception(exception)
        span.set_status(trace.StatusCode.ERROR, type(exception).__name__)

    def _report(self, request: HttpRequest, response: HttpResponse, route: str) -> None:
        base = {
            "user_id": _user_id(request),
            "source_ip": _client_ip(request, self.options),
            "endpoint": route,
            "method": request.method,
            "user_agent": request.headers.get("User-Agent", "")[:512],
        }
        if response.status_code == 403:
            self.obs.security_event("permission_denied", **base, details={"path": request.path})
        params = self._params(request)
        rate = self.options["request_event_sample_rate"]
        if params and self.options["request_events"] and random.random() < rate:  # noqa: S311
            self.obs.security_event(
                "request", **base, params=params, details={"status": response.status_code}
            )

    def _params(self, request: HttpRequest) -> dict[str, str]:
        """Query and form parameters, at most max_params of max_param_chars each, masked."""
        limit, width = self.options["max_params"], self.options["max_param_chars"]
        masked = self.options["masked_params"]
        params: dict[str, str] = {}
        sources = [request.GET]
        if request.method == "POST" and request.content_type in FORM_TYPES:
            with suppress(RawPostDataException):  # the view streamed the body: no form
                sources.append(request.POST)
        for source in sources:
            for key in source:
                if len(params) >= limit:
                    return params
                secret = any(word in key.lower() for word in masked)
                params[key[:128]] = MASK if secret else str(source.get(key, ""))[:width]
        return params


def _client_ip(request: HttpRequest, options: dict[str, Any]) -> str | None:
    header = options["client_ip_header"]
    if header and request.META.get(header):
        return request.META[header].split(",")[0].strip()
    return request.META.get("REMOTE_ADDR") or None


def _login_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **_: Any
) -> None:
    """django.contrib.auth's user_login_failed → an auth_failure event."""
    obs, options = _configured()
    username = credentials.get("username") or credentials.get("email") or ""
    obs.security_event(
        "auth_failure", user_id=str(username)[:150] or None, **_request_fields(request, options)
    )


def _logged_in(sender: Any, request: HttpRequest | None, user: Any, **_: Any) -> None:
    """django.contrib.auth's user_logged_in → an auth_success event."""
    obs, options = _configured()
    obs.security_event(
        "auth_success", user_id=str(user.get_username()), **_request_fields(request, options)
    )


def _request_fields(request: HttpRequest | None, options: dict[str, Any]) -> dict[str, Any]:
    if request is None:
        return {}
    return {
        "source_ip": _client_ip(request, options),
        "endpoint": _route(request),
        "method": request.method,
        "user_agent": request.headers.get("User-Agent", "")[:512],
    }


def _route(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    if match is None or not match.route:
        return "unmatched"
    return "/" + match.route.lstrip("^")


def _user_id(request: HttpRequest) -> str | None:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return str(user.get_username())
    return None
