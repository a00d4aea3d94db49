"""`make bench`: alert latency — from the ingest of a breaching metric point to the webhook
receiver getting the notification, with a 1 s evaluation interval.

A throwaway platform on 127.0.0.1: SQLite, the bundled Redis, gunicorn, a Celery worker and beat
(AIVMON_ALERT_EVAL_INTERVAL_S=1). Each trial sends one breaching point for a new host, so each is
a new alert in its own notification group (group wait 1 s). The ceiling is a raw HTTP POST from
this process to the same receiver, measured in the same run.
"""

import http.client
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import orjson

from bench.ingest import ROOT, free_port, manage, wait_ready

TRIALS = int(os.environ.get("AIVMON_BENCH_ALERT_TRIALS", "40"))


class Receiver(ThreadingHTTPServer):
    """Records when each host's firing notification arrives."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.arrivals: dict[str, float] = {}
        self.changed = threading.Condition()

    def wait_for(self, host: str, timeout_s: float) -> float | None:
        with self.changed:
            self.changed.wait_for(lambda: host in self.arrivals, timeout=timeout_s)
            return self.arrivals.get(host)


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        arrived = time.time()
        self.send_response(200)
        self.end_headers()
        payload = orjson.loads(body) if body else {}
        server: Receiver = self.server  # type: ignore[assignment]
        with server.changed:
            for alert in payload.get("alerts") or [payload.get("alert") or {}]:
                host = (alert.get("labels") or {}).get("host")
                if host and payload.get("event") == "firing":
                    server.arrivals.setdefault(host, arrived)
            server.changed.notify_all()

    def log_message(self, *args) -> None:
        pass


def api(port: int, key: str, method: str, path: str, body: dict) -> dict:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request(
        method, path, orjson.dumps(body), {"Content-Type": "application/json", "X-API-Key": key}
    )
    response = connection.getresponse()
    answer = response.read()
    if response.status >= 300:
        raise SystemExit(f"{method} {path}: {response.status} {answer[:300]!r}")
    return orjson.loads(answer)


def setup_rule(port: int, admin_key: str, receiver_url: str) -> None:
    channel = api(
        port,
        admin_key,
        "POST",
        "/api/v1/channels",
        {"name": "bench-hook", "kind": "webhook", "config": {"url": receiver_url}},
    )
    api(
        port,
        admin_key,
        "POST",
        "/api/v1/alert-rules",
        {
            "name": "cpu hot",
            "kind": "metric_threshold",
            "severity": "high",
            "channels": [channel["id"]],
            "group_by": ["host"],
            "group_wait_s": 1,
            "params": {
                "metric": "cpu_percent",
                "service": "bench",
                "agg": "max",
                "window_s": 60,
                "op": ">",
                "threshold": 90,
                "for_s": 0,
            },
        },
    )


def trial(port: int, ingest_key: str, receiver: Receiver, host: str) -> float | None:
    sent = time.time()
    api(
        port,
        ingest_key,
        "POST",
        "/api/v1/ingest/metrics",
        {
            "service": "bench",
            "points": [
                {
                    "name": "cpu_percent",
                    "type": "gauge",
                    "value": 99,
                    "timestamp": sent,
                    "labels": {"host": host},
                }
            ],
        },
    )
    arrived = receiver.wait_for(host, timeout_s=30)
    return None if arrived is None else arrived - sent


def ceiling_s(receiver_port: int) -> list[float]:
    """Raw POSTs of a notification-sized body to the receiver: the floor of a delivery."""
    body = orjson.dumps({"event": "test", "alert": {"labels": {}}})
    timings = []
    for _ in range(TRIALS):
        connection = http.client.HTTPConnection("127.0.0.1", receiver_port, timeout=10)
        started = time.perf_counter()
        connection.request("POST", "/hook", body, {"Content-Type": "application/json"})
        connection.getresponse().read()
        timings.append(time.perf_counter() - started)
    return timings


def start(env: dict, *argv: str) -> subprocess.Popen:
    log = open(Path(env["AIVMON_VAR_DIR"]) / f"{argv[0]}-{len(argv)}.log", "wb")  # noqa: SIM115
    return subprocess.Popen(
        [sys.executable, "-m", *argv], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )


def main() -> None:
    var = Path(tempfile.mkdtemp(prefix="aivmon-bench-alerts-"))
    print(f"logs in {var}", file=sys.stderr)
    redis_port, web_port = free_port(), free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "aivmon.settings.local",
        "AIVMON_VAR_DIR": str(var),
        "AIVMON_REDIS_PORT": str(redis_port),
        "AIVMON_PORT": str(web_port),
        "AIVMON_WEB_WORKERS": "2",
        "AIVMON_ALERT_EVAL_INTERVAL_S": "1",
        "AIVMON_LOG_LEVEL": "WARNING",
    }
    from apps.core import bundled_redis

    redis = bundled_redis.start(port=redis_port, data_dir=var / "redis")
    receiver = Receiver()
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    processes: list[subprocess.Popen] = []
    try:
        manage(env, "migrate", "--noinput", "-v0")
        admin_key = manage(env, "create_api_key", "--name", "a", "--scopes", "admin").splitlines()[
            -1
        ]
        ingest_key = manage(
            env, "create_api_key", "--name", "i", "--scopes", "ingest"
        ).splitlines()[-1]
        processes.append(start(env, "gunicorn", "aivmon.wsgi", "-c", "gunicorn.conf.py"))
        processes.append(
            start(
                env,
                "celery",
                "-A",
                "aivmon",
                "worker",
                "--concurrency=2",
                "-Q",
                "ingest,detect,alerts,maintenance",
                "--loglevel=WARNING",
            )
        )
        processes.append(
            start(
                env,
                "celery",
                "-A",
                "aivmon",
                "beat",
                "--pidfile=",
                "--scheduler",
                "django_celery_beat.schedulers:DatabaseScheduler",
            )
        )
        wait_ready(web_port, processes[0])
        setup_rule(web_port, admin_key, f"http://127.0.0.1:{receiver.server_port}/hook")
        trial(web_port, ingest_key, receiver, "warm-up")  # worker and beat are up
        latencies = [trial(web_port, ingest_key, receiver, f"h{n}") for n in range(TRIALS)]
        floor = ceiling_s(receiver.server_port)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)
        redis.terminate()
        receiver.shutdown()
    arrived = sorted(latency for latency in latencies if latency is not None)
    p95 = arrived[min(len(arrived) - 1, int(len(arrived) * 0.95))] if arrived else float("nan")
    floor_p95 = sorted(floor)[int(len(floor) * 0.95)]
    print(f"ceiling  raw HTTP POST to the webhook receiver: p95 {floor_p95 * 1000:.1f} ms")
    print(
        f"alerts   breaching point ingested -> webhook received, eval interval 1 s, group wait"
        f" 1 s, {TRIALS} alerts: p50 {statistics.median(arrived):.2f} s, p95 {p95:.2f} s,"
        f" max {arrived[-1]:.2f} s, {TRIALS - len(arrived)} missed"
        f" (p95 = {p95 / floor_p95:.0f} x ceiling)"
    )


if __name__ == "__main__":
    main()
