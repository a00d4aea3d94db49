"""A small Django project with aivmon_sdk.django.Middleware reports to a live aivmon: login
failures and a SQL-injection-looking parameter come back as security events with detections."""

import subprocess
import sys

import pytest
from django.conf import settings

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def drive(live_server, make_key, tmp_path):
    """Run the project's requests in a subprocess (it needs its own Django settings)."""
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(settings.BASE_DIR),
        "AIVMON_URL": live_server.url,
        "AIVMON_KEY": make_key("ingest"),
        "AIVMON_SPOOL_PATH": str(tmp_path / "spool.sqlite3"),
    }
    return subprocess.run(
        [sys.executable, "-m", "tests.sdk.django_project.drive"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _events(reader, event_type: str) -> list[dict]:
    return reader.get(f"/api/v1/security/events?event_type={event_type}").json()["results"]


def test_login_failures_and_an_injection_attempt_arrive_with_detections(drive, reader):
    assert drive.returncode == 0, drive.stderr

    failures = _events(reader, "auth_failure")
    successes = _events(reader, "auth_success")
    requests = _events(reader, "request")
    denied = _events(reader, "permission_denied")

    assert [(e["user_id"], e["source_ip"]) for e in failures] == [("alice", "127.0.0.1")] * 3
    assert "brute_force" in {d["detector"] for e in failures for d in e["detections"]}
    assert [e["user_id"] for e in successes] == ["alice"]
    injection = [e for e in requests if e["endpoint"] == "/search/"]
    assert "sql_injection" in {d["detector"] for e in injection for d in e["detections"]}
    assert [e["endpoint"] for e in denied] == ["/staff/"]


def test_the_middleware_reports_request_spans_and_red_metrics_per_route(drive, reader):
    assert drive.returncode == 0, drive.stderr

    traces = reader.get("/api/v1/traces?service=django-shop&limit=100").json()["results"]
    requests = reader.get(
        "/api/v1/metrics/query?name=http_requests_total&agg=max&step=3600&service=django-shop"
    ).json()
    durations = reader.get(
        "/api/v1/metrics/series?name=http_request_duration_seconds&service=django-shop"
    ).json()["results"]

    assert {t["root_name"] for t in traces} == {"POST /login/", "GET /search/", "GET /staff/"}
    counts = {
        (s["labels"]["method"], s["labels"]["route"], s["labels"]["status"]): s["points"][-1][1]
        for s in requests["series"]
    }
    assert counts == {
        ("POST", "/login/", "401"): 3,
        ("POST", "/login/", "200"): 1,
        ("GET", "/search/", "200"): 1,
        ("GET", "/staff/", "403"): 1,
    }
    assert sorted(s["labels"]["route"] for s in durations) == ["/login/", "/search/", "/staff/"]
