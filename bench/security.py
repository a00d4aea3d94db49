"""`make bench`: security events — one event's analysis in-process, and batch ingest over HTTP.

A throwaway platform on 127.0.0.1 (SQLite, the bundled Redis, gunicorn with 2 workers). Each
figure is printed with its ratio to a ceiling measured in the same run: for one event's analysis
a Redis round trip (PING) on the same server, for ingest raw sqlite3 executemany of the same
event rows into the same table. With the load generator on the same cores as the server, the
CPU time the web workers and Redis spend per event is printed too: it moves far less than the
rate when other work shares the machine.

Every user in the mix is new to the behavioural detector, which then judges activity by the
configured business hours: the bench counts the whole week as business hours (unless
AIVMON_SECURITY_BUSINESS_HOURS / _DAYS are set), so that its figures do not depend on when it
runs. Outside business hours every request would be an off-hours detection and a threat.
"""

import http.client
import multiprocessing
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson
import psutil

from bench.ingest import ROOT, free_port, manage, server_cpu_s, wait_ready

BATCH = 500
DURATION_S = float(os.environ.get("AIVMON_BENCH_SECONDS", "10"))
CLIENTS = int(os.environ.get("AIVMON_BENCH_CLIENTS", "4"))
ANALYSED = 5000
USERS = 200_000
INJECTIONS = ["1' OR '1'='1", "x' UNION SELECT password FROM users--", "1; DROP TABLE orders"]


def event(rng: random.Random, now: float) -> dict:
    """Return one event of a realistic mix: requests with params, failed logins, admin work."""
    roll = rng.random()
    # Populations large enough that per-user and per-IP rates look like real traffic.
    ip = f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
    user = f"user{rng.randrange(USERS)}"
    if roll < 0.2:
        return {
            "timestamp": now,
            "event_type": "auth_failure",
            "user_id": user,
            "source_ip": ip,
            "endpoint": "/login",
            "method": "POST",
            "params": {"username": user},
        }
    if roll < 0.25:
        return {
            "timestamp": now,
            "event_type": "admin_operation",
            "user_id": user,
            "source_ip": ip,
            "endpoint": "/admin/users/7",
            "method": "DELETE",
            "details": {"action": "delete"},
        }
    query = rng.choice(INJECTIONS) if roll > 0.98 else f"order {rng.randrange(10**6)} shoes"
    return {
        "timestamp": now,
        "event_type": "request",
        "user_id": user,
        "source_ip": ip,
        "endpoint": "/search",
        "method": "GET",
        "params": {"q": query, "page": "2"},
        "user_agent": "Mozilla/5.0 (bench)",
    }


def batch_body(rng: random.Random) -> bytes:
    now = time.time()
    return orjson.dumps({"service": "bench", "events": [event(rng, now) for _ in range(BATCH)]})


def client(port: int, key: str, client_no: int, deadline: float, results) -> None:
    rng = random.Random(client_no)  # noqa: S311
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    latencies, accepted = [], 0
    while time.time() < deadline:
        body = batch_body(rng)
        started = time.perf_counter()
        connection.request(
            "POST",
            "/api/v1/ingest/security-events",
            body,
            {"Content-Type": "application/json", "X-API-Key": key},
        )
        response = connection.getresponse()
        answer = response.read()
        latencies.append(time.perf_counter() - started)
        if response.status == 200:
            accepted += orjson.loads(answer)["accepted"]
    results.put((accepted, latencies))


def run_load(port: int, key: str) -> tuple[float, float, float, int]:
    results: multiprocessing.Queue = multiprocessing.Queue()
    deadline = time.time() + DURATION_S
    workers = [
        multiprocessing.Process(target=client, args=(port, key, n, deadline, results))
        for n in range(CLIENTS)
    ]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    collected = [results.get() for _ in workers]
    elapsed = time.perf_counter() - started
    for worker in workers:
        worker.join()
    latencies = sorted(lat for _, lats in collected for lat in lats)
    accepted = sum(n for n, _ in collected)
    return (
        accepted / elapsed,
        statistics.median(latencies) * 1000,
        latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        accepted,
    )


def ceiling_events_per_s(database: Path, seconds: float) -> float:
    """Raw executemany of BATCH event rows a transaction into security_securityevent."""
    connection = sqlite3.connect(database, isolation_level=None)
    connection.executescript("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;")
    row = (
        "2026-11-27 00:00:00",
        "2026-11-27 00:00:00",
        "request",
        "bench",
        "user1",
        "198.51.100.7",
        "/search",
        "GET",
        '{"q": "shoes"}',
        "Mozilla/5.0",
        "{}",
        0.0,
        0,
        "[]",
        0,
    )
    sql = (
        "INSERT INTO security_securityevent (timestamp, received_at, event_type, service,"
        " user_id, source_ip, endpoint, method, params, user_agent, details, threat_score,"
        " severity, detections, mitigated) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
    )
    written, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        connection.execute("BEGIN IMMEDIATE")
        connection.executemany(sql, [row] * BATCH)
        connection.execute("COMMIT")
        written += BATCH
    rate = written / (time.perf_counter() - started)
    connection.execute("DELETE FROM security_securityevent")
    connection.close()
    return rate


def percentiles_us(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1e6, ordered[int(len(ordered) * 0.99)] * 1e6


def analysis_latency() -> tuple[tuple[float, float], tuple[float, float]]:
    """p50/p99 of one event through every detector plus scoring, and of a Redis PING."""
    import django

    django.setup()
    from apps.core.redis import redis_client
    from apps.ingest.security import security_event
    from apps.ingest.validation import clock
    from apps.security.analysis import analyse
    from apps.security.scoring import severity_of, threat_score

    rng, redis = random.Random(7), redis_client()  # noqa: S311
    events = [
        security_event(event(rng, time.time()), service="bench", clock=clock())
        for _ in range(ANALYSED)
    ]
    analyse(events[:50])  # warm: patterns compiled, connection open
    timings, pings = [], []
    for item in events:
        started = time.perf_counter()
        found = analyse([item])[0]
        severity_of(threat_score(found))
        timings.append(time.perf_counter() - started)
        started = time.perf_counter()
        redis.ping()
        pings.append(time.perf_counter() - started)
    return percentiles_us(timings), percentiles_us(pings)


def main() -> None:
    var = Path(tempfile.mkdtemp(prefix="aivmon-bench-security-"))
    redis_port, web_port = free_port(), free_port()
    env = {
        "AIVMON_SECURITY_BUSINESS_HOURS": "00-24",
        "AIVMON_SECURITY_BUSINESS_DAYS": "mon-sun",
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "aivmon.settings.local",
        "AIVMON_VAR_DIR": str(var),
        "AIVMON_REDIS_PORT": str(redis_port),
        "AIVMON_PORT": str(web_port),
        "AIVMON_WEB_WORKERS": "2",
        "AIVMON_WEB_THREADS": "1",
        "AIVMON_LOG_LEVEL": "WARNING",
    }
    os.environ.update({k: v for k, v in env.items() if k.startswith(("AIVMON_", "DJANGO_"))})
    from apps.core import bundled_redis

    redis = bundled_redis.start(port=redis_port, data_dir=var / "redis")
    try:
        manage(env, "migrate", "--noinput", "-v0")
        key = manage(env, "create_api_key", "--name", "bench", "--scopes", "ingest").splitlines()[
            -1
        ]
        (one_p50, one_p99), (ping_p50, ping_p99) = analysis_latency()
        ceiling = ceiling_events_per_s(var / "aivmon.sqlite3", min(DURATION_S, 5))
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
            servers = [*psutil.Process(web.pid).children(), psutil.Process(redis.pid)]
            cpu_before = [server_cpu_s([server]) for server in servers]
            rate, p50, p99, accepted = run_load(web_port, key)
            cpu_us = [
                (server_cpu_s([server]) - before) * 1e6 / max(accepted, 1)
                for server, before in zip(servers, cpu_before, strict=True)
            ]
        finally:
            web.terminate()
            web.wait(timeout=30)
    finally:
        redis.terminate()
    print(
        f"security one event, all four detectors + scoring, in-process: p50 {one_p50:.0f} us, "
        f"p99 {one_p99:.0f} us (Redis PING p50 {ping_p50:.0f} us, p99 {ping_p99:.0f} us; "
        f"p99 = {one_p99 / ping_p99:.1f} x a round trip)"
    )
    print(
        f"ceiling  raw sqlite3 executemany of security events, batches of {BATCH}: "
        f"{ceiling:,.0f} events/s"
    )
    print(
        f"security events over HTTP, gunicorn 2 workers, {CLIENTS} clients, batches of {BATCH},"
        f" all detectors, {DURATION_S:.0f} s: {rate:,.0f} events/s (p50 {p50:.0f} ms, "
        f"p99 {p99:.0f} ms) = {rate / ceiling:.2f} x ceiling; CPU per event: web workers "
        f"{sum(cpu_us[:-1]):.0f} us, Redis {cpu_us[-1]:.0f} us"
    )


if __name__ == "__main__":
    main()
