"""Redis stopped while aivmon runs: telemetry ingest goes on, security-event ingest asks for a
retry, read-only pages and API keep answering, and everything recovers without a restart.

The test starts its own bundled redis-server, a gunicorn and a Celery worker on it, stops the
server for OUTAGE_S (a minute, as the issue asks) while clients keep sending every
kind of batch and reading, then starts a new server on the same port. The web process and the
worker are never restarted.
"""

import http.client
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
import redis
from celery import Celery, current_app
from django.test import Client

from apps.alerts import triggers as alert_triggers
from apps.alerts.models import Alert
from apps.core import bundled_redis
from apps.core import redis as core_redis
from apps.core.redis import RETRIES, redis_client
from apps.logs.models import LogRecord as StoredLog
from apps.security.models import SecurityEvent
from apps.testruns.models import Run
from apps.traces.models import Span
from tests.alerts.factories import RuleFactory
from tests.conftest import key_client
from tests.ops.conftest import HTTP_TIMEOUT_S, logged_exceptions, stored_points, web_wait
from tests.ops.payloads import otlp_logs, otlp_metrics, otlp_traces
from tests.support.processes import free_port, wait_for

pytestmark = [pytest.mark.ops, pytest.mark.celery, pytest.mark.django_db(transaction=True)]

OUTAGE_S = 60.0
THRESHOLD = 50
JSON = "application/json"
PROTOBUF = "application/x-protobuf"
READS = (
    "/api/v1/metrics/query?name=outage_load",
    "/api/v1/metrics/series",
    "/api/v1/traces",
    "/api/v1/logs",
    "/api/v1/security/events",
    "/api/v1/security/threats",
    "/api/v1/alerts",
    "/api/v1/testruns",
    "/api/v1/health/components",
    "/api/v1/health/host",
)
KINDS = ("metrics", "otlp metrics", "logs", "otlp logs", "spans", "otlp spans", "test runs")
# The 503s the outage is expected to give: not ready, and security events to be sent again.
BY_DESIGN = {(503, "/readyz"), (503, "/api/v1/ingest/security-events")}
PAGES = ("/ui/", "/ui/security/", "/ui/health/", "/ui/metrics/", "/ui/alerts/", "/ui/testruns/")


class RedisServer:
    """The bundled redis-server on one port, which the test stops and starts again."""

    def __init__(self, port: int, data_dir: Path) -> None:
        self.port, self.data_dir = port, data_dir
        self.process = bundled_redis.start(port=port, data_dir=data_dir)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)

    def start(self) -> None:
        self.process = bundled_redis.start(port=self.port, data_dir=self.data_dir)


@pytest.fixture
def own_redis(settings, tmp_path) -> Iterator[RedisServer]:
    """A Redis of this test's own, which the processes it starts use (REDIS_URL)."""
    server = RedisServer(free_port(), tmp_path / "redis")
    settings.REDIS_URL = server.url
    redis_client.cache_clear()
    yield server
    server.stop()
    redis_client.cache_clear()


# --- what the clients send ------------------------------------------------------------------


def _json(document: dict) -> tuple[bytes, str]:
    return orjson.dumps(document), JSON


def telemetry(tag: str) -> dict[str, tuple[bytes, str]]:
    """One batch of every kind of telemetry, told apart by `tag`: path → (body, content type)."""
    now = time.time()
    now_ns = int(now) * 1_000_000_000
    trace_id = uuid.uuid4().hex
    point = {"name": "outage_load", "type": "gauge", "value": THRESHOLD + 1.0}
    span = {
        "trace_id": trace_id,
        "span_id": trace_id[:16],
        "name": f"native {tag}",
        "kind": "server",
        "start_time": now,
        "end_time": now + 0.1,
        "status": "OK",
    }
    case = {"name": "test_a", "module": "m", "outcome": "passed", "duration": 0.1}
    return {
        "/api/v1/ingest/metrics": _json(
            {"service": "outage", "points": [{**point, "labels": {"round": tag}}]}
        ),
        "/api/v1/ingest/spans": _json({"service": "outage", "spans": [span]}),
        "/api/v1/ingest/logs": _json(
            {"service": "outage", "logs": [{"severity": "ERROR", "body": f"native {tag}"}]}
        ),
        "/api/v1/ingest/test-runs": _json({"suite": "outage", "run_id": tag, "cases": [case]}),
        "/otlp/v1/metrics": (otlp_metrics(tag, now_ns), PROTOBUF),
        "/otlp/v1/traces": (otlp_traces(tag, uuid.uuid4().hex, now_ns), PROTOBUF),
        "/otlp/v1/logs": (otlp_logs(tag, now_ns), PROTOBUF),
    }


def security_events(user: str, failures: int) -> bytes:
    event = {"event_type": "auth_failure", "user_id": user, "source_ip": "203.0.113.9"}
    return orjson.dumps({"service": "outage", "events": [event] * failures})


class Visitor:
    """Requests to one web process on a kept-alive connection; every answer is kept."""

    def __init__(self, port: int, ingest_key: str, read_key: str, session: str) -> None:
        self.port = port
        self.keys = {"ingest": ingest_key, "read": read_key}
        self.session = session
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=HTTP_TIMEOUT_S)
        self.answers: list[tuple[str, str, int, dict, bytes]] = []  # method, path, status, …

    def request(self, method: str, path: str, body: bytes | None = None, **headers: str):
        try:
            self.connection.request(method, path, body, headers)
            response = self.connection.getresponse()
        except (OSError, http.client.HTTPException):  # an idle keep-alive was closed: again
            self.connection.close()
            self.connection.request(method, path, body, headers)
            response = self.connection.getresponse()
        answer = (method, path, response.status, dict(response.getheaders()), response.read())
        self.answers.append(answer)
        return answer

    def ingest(self, path: str, body: bytes, content_type: str):
        return self.request(
            "POST", path, body, **{"Content-Type": content_type, "X-API-Key": self.keys["ingest"]}
        )

    def read(self, path: str):
        return self.request("GET", path, None, **{"X-API-Key": self.keys["read"]})

    def page(self, path: str):
        return self.request("GET", path, Cookie=f"sessionid={self.session}")

    def server_errors(self) -> list:
        return [
            (method, path, status, body[:300])
            for method, path, status, _, body in self.answers
            if status >= 500 and (status, path) not in BY_DESIGN
        ]


def _rule(admin_key: str, port: int) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=HTTP_TIMEOUT_S)
    headers = {"Content-Type": JSON, "X-API-Key": admin_key}
    rules = [
        {
            "name": "outage load",
            "kind": "metric_threshold",
            "severity": "high",
            "params": {
                "metric": "outage_load",
                "service": "outage",
                "agg": "max",
                "window_s": 600,
                "op": ">",
                "threshold": THRESHOLD,
                "for_s": 0,
            },
        },
        {
            "name": "outage suite",
            "kind": "test_success_rate",
            "severity": "low",
            "params": {"suite": "outage"},
        },
    ]
    for rule in rules:
        connection.request("POST", "/api/v1/alert-rules", orjson.dumps(rule), headers)
        response = connection.getresponse()
        assert response.status == 201, response.read()
        response.read()


def _stored(tags: list[str]) -> dict[str, set[str]]:
    """For each kind of telemetry, which of the rounds `tags` are stored."""
    metric_rounds = {labels.get("round") for labels, _, _ in stored_points("outage_load")}
    otlp_rounds = {labels.get("round") for labels, _, _ in stored_points("outage_otlp")}
    logs = set(StoredLog.objects.values_list("body", flat=True))
    spans = set(Span.objects.values_list("name", flat=True))
    runs = set(Run.objects.filter(suite="outage").values_list("run_id", flat=True))
    return {
        "metrics": {t for t in tags if t in metric_rounds},
        "otlp metrics": {t for t in tags if t in otlp_rounds},
        "logs": {t for t in tags if f"native {t}" in logs},
        "otlp logs": {t for t in tags if f"otlp {t}" in logs},
        "spans": {t for t in tags if f"native {t}" in spans},
        "otlp spans": {t for t in tags if f"otlp {t}" in spans},
        "test runs": {t for t in tags if t in runs},
    }


def _outage(client: "Visitor", seconds: float) -> tuple[list[str], list, tuple]:
    """Send every kind of batch, read every page, again and again for `seconds`; return the
    rounds' tags, the security-event answers and the last /readyz answer."""
    tags: list[str] = []
    security_answers = []
    ends = time.monotonic() + seconds
    while time.monotonic() < ends:
        tag = f"out-{len(tags)}"
        for path, (body, content_type) in telemetry(tag).items():
            client.ingest(path, body, content_type)
        tags.append(tag)
        security_answers.append(
            client.ingest("/api/v1/ingest/security-events", security_events("during", 2), JSON)
        )
        for path in READS:
            client.read(path)
        for path in PAGES:
            client.page(path)
        for path in ("/healthz", "/metrics"):
            client.request("GET", path)
        ready = client.request("GET", "/readyz")
    return tags, security_answers, ready


def test_ingest_goes_on_while_redis_is_down_and_everything_recovers_without_a_restart(
    own_redis, start_web, start_worker, make_key, viewer
):
    web = start_web("web", wait=False)
    worker = start_worker("worker")
    web_wait(web)
    browser = Client()
    browser.force_login(viewer)
    client = Visitor(
        web.port, make_key("ingest"), make_key("read"), browser.cookies["sessionid"].value
    )
    _rule(make_key("admin"), web.port)
    wait_for(lambda: "ready" in worker.output(), what="the worker", processes=[worker])

    before = client.ingest("/api/v1/ingest/security-events", security_events("before", 1), JSON)
    assert before[2] == 200, before[4]

    own_redis.stop()
    outage_tags, security_answers, ready = _outage(client, OUTAGE_S)
    own_redis.start()

    # Back: ingest as before, and the Redis-backed work resumes in the same processes.
    after = client.ingest("/api/v1/ingest/security-events", security_events("after", 2), JSON)
    again = client.ingest("/api/v1/ingest/security-events", security_events("after", 1), JSON)
    for path, (body, content_type) in telemetry("back").items():
        client.ingest(path, body, content_type)
    wait_for(
        lambda: Alert.objects.filter(rule__name="outage load").exists(),
        what="the rule to be evaluated after Redis came back",
        processes=[web.process, worker],
    )
    wait_for(
        lambda: client.request("GET", "/readyz")[2] == 200,
        what="/readyz to see Redis again",
        processes=[web.process, worker],
    )

    assert client.server_errors() == [], logged_exceptions([web.process])
    ingest_statuses = {
        (path, status)
        for method, path, status, _, _ in client.answers
        if method == "POST" and path != "/api/v1/ingest/security-events"
    }
    assert {status for _, status in ingest_statuses} <= {200, 201}, ingest_statuses
    assert len(outage_tags) >= 2
    assert _stored([*outage_tags, "back"]) == dict.fromkeys(KINDS, {*outage_tags, "back"})
    # Security events: 503 with Retry-After in the error envelope, nothing stored; then scored
    # by the Redis windows again (the third failure from the IP is brute force).
    assert {(s, h.get("Retry-After")) for _, _, s, h, _ in security_answers} == {(503, "1")}
    assert {orjson.loads(b)["error"]["code"] for *_, b in security_answers} == {"unavailable"}
    assert not SecurityEvent.objects.filter(user_id="during").exists()
    assert (after[2], again[2]) == (200, 200)
    assert "brute_force" in {
        d["detector"] for d in orjson.loads(again[4])["results"][0]["detections"]
    }
    assert redis.Redis.from_url(own_redis.url).exists("aivmon:sec:bf:ip:203.0.113.9")
    # Reads and pages answered throughout; /readyz named Redis.
    reads = {(p, s) for m, p, s, _, _ in client.answers if m == "GET" and p != "/readyz"}
    assert {s for _, s in reads} == {200}, reads
    assert (ready[2], orjson.loads(ready[4])["failed"]) == (503, ["redis"])
    warnings = web.process.output()
    assert "alerts.trigger.unavailable" in warnings
    assert "ingest.security.unavailable" in warnings


@pytest.fixture
def broker_gone():
    """Celery's broker is unreachable while Redis still answered the pending flag: Redis went
    away between the two (a race this process's own Celery app, pointed at a dead port, makes
    certain)."""
    previous = current_app._get_current_object()
    dead = Celery("aivmon-dead", broker=f"redis://127.0.0.1:{free_port()}/0", set_as_current=False)
    dead.set_current()
    yield
    previous.set_current()
    dead.close()


def test_a_batch_is_acknowledged_when_the_broker_goes_away_before_its_evaluation_is_queued(
    make_key, broker_gone, caplog
):
    rule = RuleFactory()
    alert_triggers.rules_forget()
    body = {"service": "api", "points": [{"name": "cpu_percent", "type": "gauge", "value": 97}]}

    response = key_client(make_key("ingest")).post(
        "/api/v1/ingest/metrics", body, content_type=JSON
    )

    assert response.status_code == 200
    assert stored_points("cpu_percent") != []
    assert "alerts.trigger.unavailable" in caplog.text
    # The flag is let go, so that the next batch queues the evaluation again.
    assert not redis_client().exists(f"aivmon:alerts:pending:{rule.pk}")


class BlackHole:
    """A listening port whose accept queue is full, so that the kernel drops every further
    connection attempt unanswered, as a Redis host gone from the network looks."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0), backlog=0)
        self.port = self.server.getsockname()[1]
        self.queued = [socket.socket() for _ in range(3)]
        for filler in self.queued:  # without waiting: the last ones are never answered
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", self.port))

    def close(self) -> None:
        for connection in [*self.queued, self.server]:
            connection.close()


@pytest.fixture
def black_hole(settings) -> Iterator[BlackHole]:
    hole = BlackHole()
    settings.REDIS_URL = f"redis://127.0.0.1:{hole.port}/0"
    redis_client.cache_clear()
    yield hole
    hole.close()
    redis_client.cache_clear()
    core_redis._unreachable_until.clear()


def test_a_redis_host_gone_from_the_network_costs_one_connect_timeout_then_fails_fast(
    black_hole,
):
    client = redis_client()

    started = time.monotonic()
    with pytest.raises(redis.RedisError):  # the connect timed out; its retry is held back
        client.ping()
    first = time.monotonic() - started
    started = time.monotonic()
    with pytest.raises(redis.ConnectionError, match="unreachable"):
        client.ping()
    next_call = time.monotonic() - started

    # One retry (redis-py's default is ten, at connect and per command: ~26 s a call here), and
    # that retry is refused at once: the host is known unreachable for UNREACHABLE_S.
    assert client.get_retry().get_retries() == RETRIES == 1
    assert 1.5 < first < 3.5  # one 2 s connect timeout, not two
    assert next_call < 0.5


def test_an_unreachable_redis_is_tried_again_after_a_while(black_hole, monkeypatch):
    monkeypatch.setattr(core_redis, "UNREACHABLE_S", 0.2)
    client = redis_client()
    with pytest.raises(redis.RedisError):
        client.ping()

    time.sleep(0.3)
    black_hole.close()  # nothing listens there now: a real attempt is refused at once

    with pytest.raises(redis.ConnectionError) as refused:
        client.ping()
    assert "unreachable" not in str(refused.value)  # tried for real, not held back


def test_a_refused_connection_does_not_mark_redis_unreachable(settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    redis_client.cache_clear()
    try:
        with pytest.raises(redis.ConnectionError):
            redis_client().ping()
        assert core_redis._unreachable_until == {}
    finally:
        redis_client.cache_clear()
