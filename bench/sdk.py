"""`make bench`: the Python SDK's cost on the application thread, per span and per
`@timed_operation` call, against a raw ceiling measured in the same run.

Ceiling: a bare OpenTelemetry span (TracerProvider, BatchSpanProcessor, an exporter that does
nothing), and for a timed call the same span with a histogram record inside it (a MeterProvider
with an in-memory reader, so the measurement is aggregated as the SDK's is). The SDK exports for
real to an OTLP sink in another process answering 200, so its background threads (batching,
protobuf encoding, HTTP) compete with the measured loop as they would in an application.
Each figure is the median of ROUNDS rounds of CALLS calls, in two clocks: CPU time of the
application thread (`time.thread_time`: what instrumenting costs the caller, steady on a busy
machine) and wall time (which also holds waiting for the GIL and for a CPU, so it swells with
the machine's load and with the SDK's own export threads).
"""

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from aivmon_sdk import ObservabilitySystem, timed_operation, traced_operation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from bench.ingest import free_port

CALLS = int(os.environ.get("AIVMON_BENCH_SDK_CALLS", "10000"))
ROUNDS = int(os.environ.get("AIVMON_BENCH_SDK_ROUNDS", "5"))
TARGET_US = 100.0

SINK = """
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *args):
        pass
ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"""


class NoOpExporter(SpanExporter):
    def export(self, spans):  # type: ignore[no-untyped-def]
        return SpanExportResult.SUCCESS


Figure = tuple[float, float]  # (thread CPU µs, wall µs) per call


def per_call_us(call: Callable[[], object]) -> Figure:
    """Medians over ROUNDS of the mean thread CPU time and wall time of one call, in µs."""
    cpu, wall = [], []
    for _ in range(ROUNDS):
        cpu_started, wall_started = time.thread_time(), time.perf_counter()
        for _ in range(CALLS):
            call()
        cpu.append((time.thread_time() - cpu_started) / CALLS * 1e6)
        wall.append((time.perf_counter() - wall_started) / CALLS * 1e6)
    return statistics.median(cpu), statistics.median(wall)


def raw_figures() -> tuple[Figure, Figure]:
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(NoOpExporter(), max_queue_size=16_384))
    tracer = provider.get_tracer("bench")
    meters = MeterProvider(metric_readers=[InMemoryMetricReader()])  # a reader: aggregation
    histogram = meters.get_meter("bench").create_histogram("raw_seconds")

    def span() -> None:
        with tracer.start_as_current_span("op"):
            pass

    def timed() -> None:
        started = time.perf_counter()
        with tracer.start_as_current_span("op"):  # recorded inside the span, like the SDK's
            histogram.record(time.perf_counter() - started, {"operation": "op", "outcome": "ok"})

    figures = per_call_us(span), per_call_us(timed)
    provider.shutdown()
    return figures


def sdk_figures(endpoint: str, spool_dir: Path) -> tuple[Figure, Figure, int]:
    obs = ObservabilitySystem(
        "bench",
        endpoint,
        "bench-key",
        flush_interval=5.0,
        spool_path=spool_dir / "bench.sqlite3",
        set_global=False,
        install_exit_handlers=False,
    )

    def span() -> None:
        with traced_operation(obs, "op"):
            pass

    @timed_operation(obs, "op")
    def timed() -> None:
        pass

    figures = per_call_us(span), per_call_us(timed)
    obs.flush()
    spooled = len(obs.spool)
    obs.shutdown()
    return figures[0], figures[1], spooled


def main() -> None:
    port = free_port()
    sink = subprocess.Popen([sys.executable, "-c", SINK, str(port)])
    try:
        time.sleep(0.5)
        raw_span, raw_timed = raw_figures()
        with tempfile.TemporaryDirectory() as spool_dir:
            span, timed, spooled = sdk_figures(f"http://127.0.0.1:{port}", Path(spool_dir))
    finally:
        sink.terminate()
        sink.wait(10)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"SDK cost per call on the application thread, µs ({ROUNDS} rounds of {CALLS:,}, median;")
    print(f"  load average {load} on {os.cpu_count()} CPUs)           thread CPU      wall")
    rows = [
        ("span: traced_operation", span),
        ("  ceiling: bare OTel span, no-op exporter", raw_span),
        ("call: @timed_operation", timed),
        ("  ceiling: bare span + histogram record", raw_timed),
    ]
    for label, (cpu, wall) in rows:
        print(f"  {label:<44} {cpu:8.1f} {wall:9.1f}")
    verdict = "met" if max(span[0], timed[0]) < TARGET_US else "MISSED"
    print(f"  target < {TARGET_US:.0f} µs of thread CPU each: {verdict}; spool left: {spooled}")


if __name__ == "__main__":
    main()
