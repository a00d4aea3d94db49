"""`make bench`: ingest throughput over HTTP (gunicorn, 2 workers) against a raw ceiling.

Everything runs here on 127.0.0.1 in a throwaway var dir: SQLite, the bundled Redis, gunicorn.
Each figure is printed with its ratio to the ceiling measured in the same run: raw sqlite3
executemany of the same rows into the same schema, in-process, one transaction per batch.
Timestamps advance like live traffic (every batch is "now").
"""

import http.client
import multiprocessing
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson
import psutil

ROOT = Path(__file__).resolve().parent.parent
BATCH = 1000
SERIES = 1000
DURATION_S = float(os.environ.get("AIVMON_BENCH_SECONDS", "10"))
CLIENTS = int(os.environ.get("AIVMON_BENCH_CLIENTS", "4"))


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


def ceiling_points_per_s(database: Path, seconds: float) -> float:
    """Raw executemany into metrics_point, a transaction per batch of BATCH rows."""
    connection = sqlite3.connect(database, isolation_level=None)
    connection.executescript("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;")
    connection.execute(
        "INSERT INTO metrics_series (name, type, temporality, unit, service, labels,"
        " labels_text, fingerprint, first_seen, last_seen) VALUES"
        " ('ceiling', 'gauge', 'cumulative', '', 'bench', '{}', '{}', 'ceiling',"
        " '2026-01-01', '2026-01-01')"
    )
    series_id = connection.execute(
        "SELECT id FROM metrics_series WHERE fingerprint='ceiling'"
    ).fetchone()[0]
    written, started = 0, time.perf_counter()
    ts = int(time.time() * 1000)
    while time.perf_counter() - started < seconds:
        rows = [(series_id, ts + i, float(i)) for i in range(BATCH)]
        ts += BATCH
        connection.execute("BEGIN IMMEDIATE")
        connection.executemany(
            "INSERT INTO metrics_point (series_id, ts_ms, value) VALUES"
            " (?, ?, ?) ON CONFLICT DO NOTHING",
            rows,
        )
        connection.execute("COMMIT")
        written += BATCH
    elapsed = time.perf_counter() - started
    connection.execute("DELETE FROM metrics_point WHERE series_id = ?", (series_id,))
    connection.close()
    return written / elapsed


# Built once; each batch stamps "now" into it, so the load generator spends its CPU on sending.
_TEMPLATE = orjson.dumps(
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


def metrics_body() -> bytes:
    """A batch of BATCH points (1,000 series, one point each) stamped with the current time."""
    return _TEMPLATE.replace(b'"timestamp":0.125', b'"timestamp":%.6f' % time.time())


def client(port: int, key: str, deadline: float, results: multiprocessing.Queue) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    latencies, accepted = [], 0
    while time.time() < deadline:
        body = metrics_body()
        started = time.perf_counter()
        connection.request(
            "POST",
            "/api/v1/ingest/metrics",
            body,
            {"Content-Type": "application/json", "X-API-Key": key},
        )
        response = connection.getresponse()
        answer = orjson.loads(response.read())
        latencies.append(time.perf_counter() - started)
        if response.status == 200:
            accepted += answer["accepted"]
    results.put((accepted, latencies))


def run_load(port: int, key: str) -> tuple[float, float, float]:
    results: multiprocessing.Queue = multiprocessing.Queue()
    deadline = time.time() + DURATION_S
    workers = [
        multiprocessing.Process(target=client, args=(port, key, deadline, results))
        for _ in range(CLIENTS)
    ]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    collected = [results.get() for _ in workers]
    elapsed = time.perf_counter() - started
    for worker in workers:
        worker.join()
    accepted = sum(count for count, _ in collected)
    latencies = sorted(lat for _, lats in collected for lat in lats)
    p50 = statistics.median(latencies)
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    return accepted / elapsed, p50 * 1000, p99 * 1000


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


def main() -> None:
    var = Path(tempfile.mkdtemp(prefix="aivmon-bench-"))
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
    manage(env, "migrate", "--noinput", "-v0")
    key = manage(env, "create_api_key", "--name", "bench", "--scopes", "ingest").splitlines()[-1]
    ceiling = ceiling_points_per_s(var / "aivmon.sqlite3", min(DURATION_S, 5))
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
    try:
        wait_ready(web_port, web)
        rate, p50, p99 = run_load(web_port, key)
        rss_mb = (
            max(child.memory_info().rss for child in psutil.Process(web.pid).children()) / 2**20
        )
    finally:
        web.terminate()
        web.wait(timeout=30)
        redis.terminate()
    print(f"ceiling  raw sqlite3 executemany, batches of {BATCH}: {ceiling:,.0f} points/s")
    print(
        f"native   /api/v1/ingest/metrics over HTTP, gunicorn 2 workers, {CLIENTS} clients, "
        f"batches of {BATCH}, {DURATION_S:.0f} s: {rate:,.0f} points/s "
        f"(p50 {p50:.1f} ms, p99 {p99:.1f} ms) = {rate / ceiling:.2f} x ceiling"
    )
    print(f"memory   largest web worker RSS after the run: {rss_mb:.0f} MB")


if __name__ == "__main__":
    main()
