"""`make bench`: ingest throughput over HTTP (gunicorn, 2 workers) against a raw ceiling.

Everything runs here on 127.0.0.1 in a throwaway var dir: SQLite, the bundled Redis, gunicorn.
Each figure is printed with its ratio to two ceilings measured in the same run, raw sqlite3
executemany into the same schema, in-process, one transaction per batch of BATCH points:
- append-only: one series whose timestamps advance, every row lands at the end of the index;
- same rows: the rows of the native workload, SERIES series with one point each per batch,
  every batch "now", written as ingest writes them on SQLite: appended to the point head and
  moved into metrics_point by the same compaction statements at the same pace. The same rows
  written straight into metrics_point (each batch touching SERIES places of its (series, ts)
  index) are printed beside it.
Timestamps advance like live traffic (every batch is "now"). The server's CPU time per batch
(both workers, user + system) is printed too: with the load generator on the same two cores,
it says where the time goes.
"""

# ruff: noqa: S608 - the ceiling's statements are built from fixed fragments; values are parameters.

import http.client
import multiprocessing
import os
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import orjson
import psutil

from apps.metrics.constants import (
    HEAD_COMPACT_EVERY_MS,
    HEAD_COMPACT_MAX_ROWS,
    HEAD_SETTLE_MS,
    HEAD_SHARDS,
)

ROOT = Path(__file__).resolve().parent.parent
BATCH = 1000
SERIES = 1000
DURATION_S = float(os.environ.get("AIVMON_BENCH_SECONDS", "10"))
CLIENTS = int(os.environ.get("AIVMON_BENCH_CLIENTS", "4"))
# Each workload first runs this long unmeasured: its first batches create the 1,000 series (and
# fill the caches of both workers), which is not the steady state the figures are about; the
# slowest warm-up batch is printed beside them.
WARM_UP_S = float(os.environ.get("AIVMON_BENCH_WARM_UP_SECONDS", "1"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def manage(env: dict, *args: str) -> str:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def ceiling_points_per_s(database: Path, seconds: float, *, series: int, head: bool) -> float:
    """Raw executemany, a transaction per batch of BATCH rows: one series with advancing
    timestamps (series=1), or BATCH // series points of each of `series` series, every batch
    "now". Into metrics_point, or (head=True) as ingest writes them on SQLite: appended to the
    head, which is moved into metrics_point by the same compaction at the same pace."""
    connection = sqlite3.connect(database, isolation_level=None)
    connection.executescript("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;")
    # Series ids no series has (points have no foreign key constraint); deleted afterwards.
    first_id = 1_000_000_000
    written, started = 0, time.perf_counter()
    ts = int(time.time() * 1000)
    marks = _watermarks(connection)
    while time.perf_counter() - started < seconds:
        if series == 1:
            rows = [(first_id, ts + i, float(i)) for i in range(BATCH)]
            ts += BATCH
        else:
            ts = max(ts + 1, int(time.time() * 1000))
            rows = [(first_id + i % series, ts + i // series, float(i)) for i in range(BATCH)]
            rows.sort()
        connection.execute("BEGIN IMMEDIATE")
        if head:
            connection.executemany(
                "INSERT INTO metrics_pointhead (shard, ts_ms, series_id, value) VALUES"
                " (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                sorted(
                    (series_id % HEAD_SHARDS, ts_ms, series_id, value)
                    for series_id, ts_ms, value in rows
                ),
            )
        else:
            connection.executemany(
                "INSERT INTO metrics_point (series_id, ts_ms, value) VALUES"
                " (?, ?, ?) ON CONFLICT DO NOTHING",
                rows,
            )
        connection.execute("COMMIT")
        written += BATCH
        now_ms = int(time.time() * 1000)
        if head and now_ms - HEAD_SETTLE_MS - min(marks) >= HEAD_COMPACT_EVERY_MS:
            shard = marks.index(min(marks))  # the oldest shard, as a web worker does
            marks[shard] = _compact(connection, shard, marks[shard], now_ms - HEAD_SETTLE_MS)
    elapsed = time.perf_counter() - started
    connection.execute("DELETE FROM metrics_pointhead WHERE series_id >= ?", (first_id,))
    connection.execute("DELETE FROM metrics_point WHERE series_id >= ?", (first_id,))
    connection.close()
    return written / elapsed


def _watermarks(connection: sqlite3.Connection) -> list[int]:
    marks = dict(connection.execute("SELECT id, watermark_ms FROM metrics_pointheadstate"))
    return [marks.get(shard + 1, 0) for shard in range(HEAD_SHARDS)]


def _compact(connection: sqlite3.Connection, shard: int, watermark_ms: int, settled_ms: int) -> int:
    """apps.metrics.points.points_compact_oldest's statements: move the shard's head before
    settled_ms, or its HEAD_COMPACT_MAX_ROWS oldest points; return the shard's new watermark."""
    in_shard = "shard = ? AND ts_ms >= ? AND ts_ms < ?"
    connection.execute("BEGIN IMMEDIATE")
    rows = connection.execute(
        f"SELECT ts_ms FROM metrics_pointhead WHERE {in_shard} ORDER BY ts_ms LIMIT 2 OFFSET ?",
        (shard, watermark_ms, settled_ms, HEAD_COMPACT_MAX_ROWS - 1),
    ).fetchall()
    until_ms = settled_ms
    if len(rows) == 2:
        until_ms = rows[1][0] if rows[1][0] > rows[0][0] else rows[1][0] + 1
    shard_range = (shard, watermark_ms, until_ms)
    connection.execute(
        "INSERT INTO metrics_point (series_id, ts_ms, value) SELECT series_id, ts_ms, value"
        f" FROM metrics_pointhead WHERE {in_shard} ORDER BY series_id, ts_ms"
        " ON CONFLICT DO NOTHING",
        shard_range,
    )
    connection.execute(f"DELETE FROM metrics_pointhead WHERE {in_shard}", shard_range)
    connection.execute(
        "UPDATE metrics_pointheadstate SET watermark_ms = ? WHERE id = ?", (until_ms, shard + 1)
    )
    connection.execute("COMMIT")
    return until_ms


# --- workloads: each makes one request body of BATCH items stamped "now" ------------------
# Bodies are built once and only re-stamped, so the load generator spends its CPU on sending.

_NATIVE = orjson.dumps(
    {
        "service": "bench",
        "points": [
            {
                "name": f"bench_metric_{i % 10}",
                "type": "gauge",
                "value": float(i),
                "timestamp": 0.125,
                "labels": {"instance": str(i // 10)},
            }
            for i in range(BATCH)
        ],
    }
)


def native_metrics() -> bytes:
    """1,000 series, one point each."""
    return _NATIVE.replace(b'"timestamp":0.125', b'"timestamp":%.6f' % time.time())


def _resource(container, service: str = "bench"):
    container.resource.attributes.add(key="service.name").value.string_value = service


def otlp_metrics_template():
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
        ExportMetricsServiceRequest,
    )

    request = ExportMetricsServiceRequest()
    resource = request.resource_metrics.add()
    _resource(resource)
    metric = resource.scope_metrics.add().metrics.add(name="bench_otlp_gauge")
    for i in range(BATCH):
        point = metric.gauge.data_points.add(as_double=float(i))
        point.attributes.add(key="instance").value.string_value = str(i)
    return request, list(metric.gauge.data_points)


def otlp_spans_template():
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    request = ExportTraceServiceRequest()
    resource = request.resource_spans.add()
    _resource(resource)
    scope = resource.scope_spans.add()
    for i in range(BATCH):
        span = scope.spans.add(name=f"GET /items/{i % 10}", kind=2)
        span.attributes.add(key="http.status_code").value.int_value = 200
    return request, list(scope.spans)


def otlp_logs_template():
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

    request = ExportLogsServiceRequest()
    resource = request.resource_logs.add()
    _resource(resource)
    scope = resource.scope_logs.add()
    for i in range(BATCH):
        record = scope.log_records.add(severity_number=9, severity_text="INFO")
        record.body.string_value = f"request {i} served for customer {i % 97} in {i % 13} ms"
    return request, list(scope.log_records)


def stamp_metrics(items, batch_no: int) -> None:
    now = time.time_ns()
    for point in items:
        point.time_unix_nano = now


def stamp_spans(items, batch_no: int) -> None:
    now = time.time_ns()
    for i, span in enumerate(items):
        trace = (batch_no * 100 + i // 10).to_bytes(16, "big")
        span.trace_id = trace
        span.span_id = (batch_no * BATCH + i + 1).to_bytes(8, "big")
        span.parent_span_id = (
            b"" if i % 10 == 0 else (batch_no * BATCH + i - i % 10 + 1).to_bytes(8, "big")
        )
        span.start_time_unix_nano = now - 5_000_000
        span.end_time_unix_nano = now


def stamp_logs(items, batch_no: int) -> None:
    now = time.time_ns()
    for record in items:
        record.time_unix_nano = now


WORKLOADS = {
    "native metrics": ("/api/v1/ingest/metrics", "application/json", None, None, "points"),
    "OTLP metrics": (
        "/otlp/v1/metrics",
        "application/x-protobuf",
        otlp_metrics_template,
        stamp_metrics,
        "points",
    ),
    "OTLP spans": (
        "/otlp/v1/traces",
        "application/x-protobuf",
        otlp_spans_template,
        stamp_spans,
        "spans",
    ),
    "OTLP logs": (
        "/otlp/v1/logs",
        "application/x-protobuf",
        otlp_logs_template,
        stamp_logs,
        "records",
    ),
}
# AIVMON_BENCH_WORKLOADS="native metrics,OTLP metrics" runs only those (all by default).
SELECTED = [
    name
    for name in WORKLOADS
    if name in os.environ.get("AIVMON_BENCH_WORKLOADS", ",".join(WORKLOADS)).split(",")
]


def client(
    port: int,
    key: str,
    workload: str,
    client_no: int,
    times: tuple[float, float],
    results: multiprocessing.Queue,
) -> None:
    """Send batches until the deadline; count and time those sent from `measure_from` on."""
    measure_from, deadline = times
    path, content_type, template, stamp, _ = WORKLOADS[workload]
    message, items = template() if template else (None, None)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    latencies, accepted, batch_no, warm_up = [], 0, client_no * 1_000_000, []
    while (now := time.time()) < deadline:
        batch_no += 1
        if message is None:
            body = native_metrics()
        else:
            stamp(items, batch_no)
            body = message.SerializeToString()
        started = time.perf_counter()
        connection.request("POST", path, body, {"Content-Type": content_type, "X-API-Key": key})
        response = connection.getresponse()
        answer = response.read()
        latency = time.perf_counter() - started
        if now < measure_from:
            warm_up.append(latency)
            continue
        latencies.append(latency)
        if response.status == 200:
            accepted += orjson.loads(answer)["accepted"] if message is None else BATCH
    results.put((accepted, latencies, warm_up, time.time()))


@dataclass
class Load:
    rate: float  # accepted items a second, after the warm-up
    p50_ms: float
    p99_ms: float
    batches: int  # sent, the warm-up's included
    warm_up_max_ms: float  # the slowest batch of the warm-up (the first batches create series)


def run_load(port: int, key: str, workload: str) -> Load:
    """Load the server from CLIENTS processes for WARM_UP_S, then DURATION_S measured."""
    results: multiprocessing.Queue = multiprocessing.Queue()
    measure_from = time.time() + WARM_UP_S
    times = (measure_from, measure_from + DURATION_S)
    workers = [
        multiprocessing.Process(target=client, args=(port, key, workload, n, times, results))
        for n in range(CLIENTS)
    ]
    for worker in workers:
        worker.start()
    collected = [results.get() for _ in workers]
    for worker in workers:
        worker.join()
    accepted = sum(found[0] for found in collected)
    latencies = sorted(lat for found in collected for lat in found[1])
    warm_up = [lat for found in collected for lat in found[2]]
    elapsed = max(found[3] for found in collected) - measure_from
    return Load(
        rate=accepted / elapsed,
        p50_ms=statistics.median(latencies) * 1000,
        p99_ms=latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        batches=len(latencies) + len(warm_up),
        warm_up_max_ms=max(warm_up, default=0.0) * 1000,
    )


def wait_ready(port: int, process: subprocess.Popen) -> None:
    for _ in range(200):
        if process.poll() is not None:
            raise SystemExit("gunicorn exited")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            connection.request("GET", "/readyz")
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit("gunicorn did not become ready")


def server_cpu_s(workers: list[psutil.Process]) -> float:
    """CPU seconds (user + system) the web workers have used."""
    return sum(sum(worker.cpu_times()[:2]) for worker in workers)


def main() -> None:
    var = Path(tempfile.mkdtemp(prefix="aivmon-bench-"))
    try:
        run(var)
    finally:
        shutil.rmtree(var, ignore_errors=True)


def run(var: Path) -> None:
    redis_port, web_port = free_port(), free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "aivmon.settings.local",
        "AIVMON_VAR_DIR": str(var),
        "AIVMON_REDIS_PORT": str(redis_port),
        "AIVMON_PORT": str(web_port),
        "AIVMON_WEB_WORKERS": "2",
        "AIVMON_WEB_THREADS": "1",
        "AIVMON_LOG_LEVEL": "WARNING",
    }
    from apps.core import bundled_redis

    redis = bundled_redis.start(port=redis_port, data_dir=var / "redis")
    try:
        manage(env, "migrate", "--noinput", "-v0")
        key = manage(env, "create_api_key", "--name", "bench", "--scopes", "ingest").splitlines()
        database = var / "aivmon.sqlite3"
        seconds = min(DURATION_S, 5)
        ceilings = {
            "append-only": ceiling_points_per_s(database, seconds, series=1, head=False),
            "same rows": ceiling_points_per_s(database, seconds, series=SERIES, head=True),
            "same rows, no head": ceiling_points_per_s(
                database, seconds, series=SERIES, head=False
            ),
        }
        figures, rss_mb = serve_and_load(env, web_port, key[-1])
    finally:
        redis.terminate()
    report(ceilings, figures, rss_mb)


def serve_and_load(env: dict, web_port: int, key: str) -> tuple[list[tuple], tuple[float, float]]:
    """Start gunicorn, run every workload against it; return the figures and the largest
    worker's RSS in MB once ready and after the runs."""
    web = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "aivmon.wsgi",
            "-c",
            "gunicorn.conf.py",
            "--access-logfile",
            "/dev/null",
        ],
        cwd=ROOT,
        env=env,
    )
    figures = []
    try:
        wait_ready(web_port, web)
        workers = psutil.Process(web.pid).children()
        started_mb = max(worker.memory_info().rss for worker in workers) / 2**20
        for workload in SELECTED:
            cpu_before = server_cpu_s(workers)
            load = run_load(web_port, key, workload)
            cpu_ms = (server_cpu_s(workers) - cpu_before) * 1000 / max(load.batches, 1)
            rss_after_mb = max(worker.memory_info().rss for worker in workers) / 2**20
            figures.append((workload, load, cpu_ms, rss_after_mb))
        rss_mb = max(worker.memory_info().rss for worker in workers) / 2**20
    finally:
        web.terminate()
        web.wait(timeout=30)
    return figures, (started_mb, rss_mb)


def report(ceilings: dict[str, float], figures: list[tuple], rss_mb: tuple[float, float]) -> None:
    print(
        f"ceiling  raw sqlite3 executemany of metric points, batches of {BATCH}: "
        f"append-only {ceilings['append-only']:,.0f} points/s; same rows as native metrics "
        f"({SERIES} series, one point each, every batch now) into the head with its compaction "
        f"{ceilings['same rows']:,.0f} points/s (straight into metrics_point: "
        f"{ceilings['same rows, no head']:,.0f})"
    )
    for workload, load, cpu_ms, rss_after_mb in figures:
        unit = WORKLOADS[workload][4]
        print(
            f"{workload:15s} over HTTP, gunicorn 2 workers, {CLIENTS} clients, batches of "
            f"{BATCH}, {DURATION_S:.0f} s after {WARM_UP_S:.0f} s of warm-up (slowest warm-up "
            f"batch {load.warm_up_max_ms:.0f} ms): {load.rate:,.0f} {unit}/s (p50 "
            f"{load.p50_ms:.1f} ms, p99 {load.p99_ms:.1f} ms) = "
            f"{load.rate / ceilings['append-only']:.2f} x append-only, "
            f"{load.rate / ceilings['same rows']:.2f} x same-rows ceiling; "
            f"server CPU {cpu_ms:.1f} ms/batch; largest web worker RSS after it "
            f"{rss_after_mb:.0f} MB"
        )
    print(
        f"memory   largest web worker RSS after all runs: {rss_mb[1]:.0f} MB "
        f"(once ready, before any ingest: {rss_mb[0]:.0f} MB)"
    )


if __name__ == "__main__":
    main()
