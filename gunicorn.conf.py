"""gunicorn for `make run` (and production): bind from AIVMON_BIND/AIVMON_PORT."""

import gc
import os
import sys

from prometheus_client import multiprocess

# redis-py imports the OpenTelemetry SDK (~2 MB a worker) whenever it is installed, for metrics
# of its own that aivmon does not turn on. requirements.txt does not install the SDK (the dev
# requirements do, for the Python SDK's tests), so production workers never load it; on a dev
# install the web workers (forked from here) are kept the same.
sys.modules.setdefault("opentelemetry.sdk.metrics", None)  # type: ignore[arg-type]

bind = f"{os.environ.get('AIVMON_BIND', '127.0.0.1')}:{os.environ.get('AIVMON_PORT', '8000')}"
workers = int(os.environ.get("AIVMON_WEB_WORKERS", "2"))
threads = int(os.environ.get("AIVMON_WEB_THREADS", "4"))
timeout = 60
graceful_timeout = 10
accesslog = "-"
# Query strings of label filters and long ids may pass gunicorn's default 4094-byte request
# line (its answer beyond is an HTML 400): allow its maximum.
limit_request_line = 8190
forwarded_allow_ips = os.environ.get("AIVMON_FORWARDED_ALLOW_IPS", "127.0.0.1")


def child_exit(server, worker) -> None:
    # Drop a dead worker's live gauges from the shared Prometheus directory.
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)


def post_worker_init(worker) -> None:
    from apps.core.checkpoints import checkpoints_defer
    from apps.metrics.services import compaction_defer

    # Moving the settled point head into the metrics table, and copying SQLite's write-ahead log
    # into the database file (a checkpoint), wait until a response is sent (post_request), so
    # that no client waits for them. (In a thread of their own they would contend for the GIL
    # with the requests: slower, measured.)
    compaction_defer(enabled=True)
    checkpoints_defer()
    # Modules, settings and compiled patterns live as long as the worker: keep the garbage
    # collector from walking them again in every collection of a request's garbage.
    gc.freeze()


def post_request(worker, req, environ, resp) -> None:
    from apps.core.checkpoints import checkpoint_if_due
    from apps.metrics.services import compaction_run_deferred

    # Seldom both: the next request waits behind one short job.
    checkpoint_if_due(overdue_only=compaction_run_deferred())
