"""aivmon's own Prometheus metrics: request counts and latencies, Celery tasks, queues, heartbeat,
and what apps add (ingest counts, alerts; an app's figures read at scrape time register through
`scrape_time_register`).

Under gunicorn and Celery the processes share PROMETHEUS_MULTIPROC_DIR, so one scrape of
/metrics sums every process on the machine.
"""

import os
import time

from django.conf import settings
from django.http import HttpRequest
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from apps.core import selectors

HTTP_REQUESTS = Counter(
    "aivmon_http_requests", "HTTP requests served, by route.", ["route", "method", "status"]
)
HTTP_LATENCY = Histogram(
    "aivmon_http_request_duration_seconds", "HTTP request latency, by route.", ["route", "method"]
)
CELERY_TASKS = Counter(
    "aivmon_celery_tasks", "Celery tasks finished, by task and outcome.", ["task", "state"]
)


def observe_request(request: HttpRequest, status: int, elapsed_s: float) -> None:
    """Record one served request under its route pattern (bounded cardinality)."""
    match = getattr(request, "resolver_match", None)
    route = "/" + match.route if match is not None and match.route else "unmatched"
    method = request.method if request.method in _KNOWN_METHODS else "other"
    HTTP_REQUESTS.labels(route=route, method=method, status=str(status)).inc()
    HTTP_LATENCY.labels(route=route, method=method).observe(elapsed_s)


_KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class ScrapeTimeCollector:
    """Figures read at scrape time: worker heartbeat age and Celery queue depths."""

    def collect(self):
        age = GaugeMetricFamily(
            "aivmon_worker_heartbeat_age_seconds",
            "Seconds since a Celery worker last ran the heartbeat task (-1: never or unknown).",
        )
        depth = GaugeMetricFamily(
            "aivmon_queue_depth", "Celery messages waiting, by queue.", labels=["queue"]
        )
        heartbeat = selectors.heartbeat_last()
        age.add_metric([], time.time() - heartbeat if heartbeat is not None else -1)
        for queue, waiting in selectors.queue_depths(settings.AIVMON_QUEUES).items():
            depth.add_metric([queue], waiting)
        yield age
        yield depth


_SCRAPE_TIME = CollectorRegistry(auto_describe=False)
_SCRAPE_TIME.register(ScrapeTimeCollector())
_scrape_time_kinds: set[type] = set()


def scrape_time_register(collector: Collector) -> None:
    """Add a collector read at each scrape (e.g. counts from the database), once per class."""
    if type(collector) not in _scrape_time_kinds:
        _scrape_time_kinds.add(type(collector))
        _SCRAPE_TIME.register(collector)


def exposition() -> bytes:
    """Return the Prometheus text exposition of every aivmon metric."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return generate_latest(registry) + generate_latest(_SCRAPE_TIME)
