"""Health and self-monitoring endpoints (no auth), as API.md lists them."""

import time

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST

from apps.core import selectors
from apps.core.metrics import exposition


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Answer while the process serves."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
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


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """Expose aivmon's own metrics in the Prometheus text format."""
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)
