"""ObservabilitySystem: OpenTelemetry tracer, meter and logger providers exporting OTLP/HTTP to
aivmon with an API key, through the durable spool; security events; instrument helpers."""

import atexit
import hashlib
import logging
import os
import signal
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.metrics import CallbackOptions, Counter, Histogram, Observation
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from aivmon_sdk.security import SECURITY_PATH, SecurityEventBuffer, security_event_body
from aivmon_sdk.spool import Spool
from aivmon_sdk.transport import Replayer, SpoolingSession

logger = logging.getLogger("aivmon_sdk")

SCOPE = "aivmon_sdk"


def default_spool_path(service_name: str, endpoint: str) -> Path:
    """One spool file per service and aivmon, under $AIVMON_SPOOL_DIR or ~/.cache/aivmon_sdk."""
    base = os.environ.get("AIVMON_SPOOL_DIR") or Path.home() / ".cache" / "aivmon_sdk"
    digest = hashlib.sha256(endpoint.encode()).hexdigest()[:8]
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in service_name)
    return Path(base) / f"{safe}-{digest}.sqlite3"


class ObservabilitySystem:
    """Everything a service needs to report to aivmon; create one per process.

    `endpoint` is aivmon's base URL (OTLP goes to `<endpoint>/otlp/v1/…`, security events to
    `<endpoint>/api/v1/ingest/security-events`); `api_key` needs the ingest scope.
    `flush_interval` (s) is the metric export interval and the longest that spans and logs
    wait (at most 5 s). Spans and logs queue in memory up to `max_queue_size` each (past it
    the newest are dropped, as OpenTelemetry does); security events up to
    `security_max_buffered` (past it the oldest). What aivmon cannot take waits in the spool
    at `spool_path`, at most `spool_max_bytes`. `export_timeout_s` bounds one attempt.
    `set_global` makes these the OpenTelemetry API's global providers; `install_exit_handlers`
    flushes at exit and on SIGTERM.
    """

    def __init__(
        self,
        service_name: str,
        endpoint: str,
        api_key: str,
        flush_interval: float = 30.0,
        *,
        spool_path: str | Path | None = None,
        spool_max_bytes: int = 64 * 1024 * 1024,
        export_timeout_s: float = 5.0,
        max_queue_size: int = 16_384,
        max_export_batch_size: int = 512,
        security_batch_size: int = 200,
        security_max_buffered: int = 10_000,
        resource_attributes: dict[str, Any] | None = None,
        replay_min_backoff_s: float = 0.5,
        replay_max_backoff_s: float = 30.0,
        set_global: bool = True,
        install_exit_handlers: bool = True,
    ) -> None:
        self.service_name = service_name
        self.endpoint = endpoint.rstrip("/")
        self.flush_interval = flush_interval
        auth = {"Authorization": f"Bearer {api_key}"}
        path = spool_path or default_spool_path(service_name, self.endpoint)
        self.spool = Spool(path, max_bytes=spool_max_bytes)
        self.replayer = Replayer(
            self.spool,
            auth_headers=auth,
            timeout_s=export_timeout_s,
            min_backoff_s=replay_min_backoff_s,
            max_backoff_s=replay_max_backoff_s,
        )
        self.resource = Resource.create(
            {"service.name": service_name, **(resource_attributes or {})}
        )
        self._instruments: dict[tuple[str, str], Any] = {}
        self._instruments_lock = threading.Lock()
        self._shutdown_done = False

        def session() -> SpoolingSession:
            return SpoolingSession(
                self.spool, auth_headers=auth, timeout_s=export_timeout_s, on_spooled=self._spooled
            )

        self._build_pipelines(session, flush_interval, max_queue_size, max_export_batch_size)
        self.security = SecurityEventBuffer(
            url=self.endpoint + SECURITY_PATH,
            session=session(),
            service=service_name,
            batch_size=security_batch_size,
            max_buffered=security_max_buffered,
            interval_s=min(flush_interval, 1.0),
            timeout_s=export_timeout_s,
        )
        self._spool_dropped = self.counter(
            "aivmon_sdk_spool_dropped_total", "Spooled requests dropped to keep the spool's bound"
        )
        self.meter.create_observable_gauge(
            "aivmon_sdk_spool_pending", [self._spool_pending], description="Requests in the spool"
        )
        self.logger = self._service_logger()
        self._start_threads(set_global, install_exit_handlers)

    def _build_pipelines(
        self,
        session: Callable[[], SpoolingSession],
        flush_interval: float,
        max_queue_size: int,
        max_export_batch_size: int,
    ) -> None:
        """Tracer, meter and logger providers, each exporting OTLP/HTTP through a spooling
        session; spans and logs wait in bounded queues (full: the newest are dropped)."""
        delay_ms = min(flush_interval, 5.0) * 1000  # at most 5 s behind
        otlp = f"{self.endpoint}/otlp/v1"
        self.tracer_provider = TracerProvider(resource=self.resource)
        self.tracer_provider.add_span_processor(
            BatchSpanProcessor(
                OTLPSpanExporter(endpoint=f"{otlp}/traces", session=session()),
                max_queue_size=max_queue_size,
                max_export_batch_size=max_export_batch_size,
                schedule_delay_millis=delay_ms,
            )
        )
        reader = PeriodicExportingMetricReader(
            OTLPMetricExporter(endpoint=f"{otlp}/metrics", session=session()),
            export_interval_millis=flush_interval * 1000,
        )
        self.meter_provider = MeterProvider(resource=self.resource, metric_readers=[reader])
        self.logger_provider = LoggerProvider(resource=self.resource)
        self.logger_provider.add_log_record_processor(
            BatchLogRecordProcessor(
                OTLPLogExporter(endpoint=f"{otlp}/logs", session=session()),
                max_queue_size=max_queue_size,
                max_export_batch_size=max_export_batch_size,
                schedule_delay_millis=delay_ms,
            )
        )
        self.tracer = self.tracer_provider.get_tracer(SCOPE)
        self.meter = self.meter_provider.get_meter(SCOPE)
        self.otel_logger = self.logger_provider.get_logger(SCOPE)

    def _start_threads(self, set_global: bool, install_exit_handlers: bool) -> None:
        self.replayer.start()
        # The OpenTelemetry processors restart their own threads in a forked child (gunicorn
        # --preload, multiprocessing); the spool's connection and our threads need the same.
        after_fork = weakref.WeakMethod(self._after_fork_in_child)
        os.register_at_fork(after_in_child=lambda: _call_if_alive(after_fork))
        if set_global:
            self._set_global()
        if install_exit_handlers:
            self._install_exit_handlers()

    # --- instruments -------------------------------------------------------------------------

    def _instrument(self, kind: str, name: str, make: Any) -> Any:
        found = self._instruments.get((kind, name))
        if found is None:
            with self._instruments_lock:
                found = self._instruments.get((kind, name))
                if found is None:
                    found = self._instruments[(kind, name)] = make()
        return found

    def counter(self, name: str, description: str = "", unit: str = "") -> Counter:
        """Return the monotonic counter of that name (created once)."""
        return self._instrument(
            "counter", name, lambda: self.meter.create_counter(name, unit, description)
        )

    def gauge(self, name: str, description: str = "", unit: str = "") -> Any:
        """Return the synchronous gauge of that name: `.set(value, labels)`."""
        return self._instrument(
            "gauge", name, lambda: self.meter.create_gauge(name, unit, description)
        )

    def histogram(
        self,
        name: str,
        description: str = "",
        unit: str = "",
        boundaries: Sequence[float] | None = None,
    ) -> Histogram:
        """Return the histogram of that name; `boundaries` set its buckets when first created."""
        return self._instrument(
            "histogram",
            name,
            lambda: self.meter.create_histogram(
                name, unit, description, explicit_bucket_boundaries_advisory=boundaries
            ),
        )

    # --- security events ---------------------------------------------------------------------

    def security_event(self, event_type: str, **fields: Any) -> None:
        """Queue a security event (auth_failure, auth_success, request, permission_denied, …)
        for aivmon's detectors: user_id, source_ip, endpoint, method, params, user_agent,
        details, timestamp. Never blocks; events leave in batches."""
        self.security.add(security_event_body(event_type, **fields))

    # --- helpers the seed named (see aivmon_sdk.helpers) ---------------------------------------

    def pipeline_run(self, name: str, **attributes: Any) -> Any:
        from aivmon_sdk.helpers import pipeline_run

        return pipeline_run(self, name, **attributes)

    def phase(self, name: str, **attributes: Any) -> Any:
        from aivmon_sdk.helpers import phase

        return phase(self, name, **attributes)

    def record_routing(self, message_type: str, route: Sequence[Any] | int) -> None:
        from aivmon_sdk.helpers import record_routing

        record_routing(self, message_type, route)

    def log_authentication_attempt(
        self, user_id: str, success: bool, ip: str | None = None, **details: Any
    ) -> None:
        from aivmon_sdk.helpers import log_authentication_attempt

        log_authentication_attempt(self, user_id, success, ip, **details)

    def logging_handler(self, level: int = logging.NOTSET) -> logging.Handler:
        """Return a `logging.Handler` sending records through this system's log pipeline."""
        from aivmon_sdk.logs import AivmonLogHandler

        return AivmonLogHandler(self.logger_provider, level=level)

    # --- lifecycle ---------------------------------------------------------------------------

    def flush(self, timeout_s: float = 30.0) -> bool:
        """Export everything buffered now (what aivmon cannot take goes to the spool)."""
        timeout_ms = int(timeout_s * 1000)
        self.security.send_all()
        done = self.tracer_provider.force_flush(timeout_ms)
        done = self.logger_provider.force_flush(timeout_ms) and done
        done = self.meter_provider.force_flush(timeout_ms) and done
        return bool(done)

    def drain(self, timeout_s: float = 60.0) -> bool:
        """Flush, then wait until the spool is empty; False if it is not by the timeout."""
        self.flush(timeout_s)
        deadline = time.monotonic() + timeout_s
        self.replayer.wake()
        while len(self.spool) and time.monotonic() < deadline:
            time.sleep(0.05)
            self.spool.peek()  # re-counts when another process shares the file
        return not len(self.spool)

    def shutdown(self, timeout_s: float = 10.0) -> None:
        """Flush and stop; whatever aivmon did not take stays in the spool for the next start."""
        if self._shutdown_done:
            return
        self._shutdown_done = True
        self.logger.removeHandler(self._service_handler)
        self.security.shutdown(timeout_s)
        self.tracer_provider.shutdown()
        self.logger_provider.shutdown()
        self.meter_provider.shutdown(timeout_millis=timeout_s * 1000)
        self.replayer.stop(timeout_s)
        self.spool.close()
        atexit.unregister(self.shutdown)

    def _service_logger(self) -> logging.Logger:
        """A standard logger named after the service whose records go to aivmon."""
        service_logger = logging.getLogger(self.service_name)
        if service_logger.level == logging.NOTSET:
            service_logger.setLevel(logging.INFO)
        self._service_handler = self.logging_handler()
        service_logger.addHandler(self._service_handler)
        return service_logger

    def _after_fork_in_child(self) -> None:
        if self._shutdown_done:
            return
        self.spool.reopen_after_fork()
        self.replayer.restart_after_fork()
        self.security.restart_after_fork()

    def _spooled(self, dropped: int) -> None:
        self.replayer.wake()
        if dropped:
            logger.warning("aivmon_sdk.spool.dropped", extra={"requests": dropped})
            self._spool_dropped.add(dropped)

    def _spool_pending(self, options: CallbackOptions) -> list[Observation]:
        return [Observation(len(self.spool))]

    def _set_global(self) -> None:
        from opentelemetry import _logs, metrics, trace

        trace.set_tracer_provider(self.tracer_provider)
        metrics.set_meter_provider(self.meter_provider)
        _logs.set_logger_provider(self.logger_provider)

    def _install_exit_handlers(self) -> None:
        atexit.register(self.shutdown)
        if threading.current_thread() is not threading.main_thread():
            return
        previous = signal.getsignal(signal.SIGTERM)

        def on_sigterm(signum: int, frame: FrameType | None) -> None:
            self.shutdown()
            if callable(previous):
                previous(signum, frame)
            elif previous == signal.SIG_DFL:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                os.kill(os.getpid(), signal.SIGTERM)

        signal.signal(signal.SIGTERM, on_sigterm)


def _call_if_alive(reference: "weakref.WeakMethod[Any]") -> None:
    method = reference()
    if method is not None:
        method()
