"""Health and self-monitoring endpoints (no auth), as API.md lists them."""

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from prometheus_client import CONTENT_TYPE_LATEST

from apps.core import selectors
from apps.core.methods import methods_only
from apps.core.metrics import exposition


def read_only(view: Callable[[HttpRequest], HttpResponse]) -> Callable[[HttpRequest], HttpResponse]:
    """Serve GET and HEAD, any other method 405 in the envelope. HEAD runs as GET: the server
    (gunicorn, runserver) drops the body and keeps the headers. CSRF-exempt: these views
    change nothing, and a probe has no CSRF token."""
    return csrf_exempt(never_cache(methods_only("GET", "HEAD")(view)))


@read_only
def healthz(request: HttpRequest) -> JsonResponse:
    """Answer while the process serves."""
    return JsonResponse({"status": "ok"})


@read_only
def readyz(request: HttpRequest) -> JsonResponse:
    """Answer 200 when the database and Redis answer, else 503 naming what failed."""
    checks = selectors.readiness()
    ready = all(check["ok"] for check in checks.values())
    heartbeat = selectors.heartbeat_last()
    body = {
        "status": "ready" if ready else "unavailable",
        "checks": checks,
        "failed": [name for name, check in checks.items() if not check["ok"]],
        "worker": {
            "last_heartbeat": heartbeat,
            "age_s": round(time.time() - heartbeat, 3) if heartbeat is not None else None,
        },
    }
    response = JsonResponse(body, status=200 if ready else 503)
    if not ready:
        response["Retry-After"] = "5"
    return response


@read_only
def metrics(request: HttpRequest) -> HttpResponse:
    """Expose aivmon's own metrics in the Prometheus text format."""
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)
