"""The dashboard chart endpoints: counts per bucket with zeros filled in, one line a kind or a
severity, the time window checked, the same read rules as the rest of the API; and the query
counts of the overview, security and alerts pages, pinned whatever the data size."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from apps.logs.services import logs_write
from apps.security.constants import Severity
from tests.dashboards.support import queries_for
from tests.dashboards.test_alerts import seed_alerts
from tests.dashboards.test_overview import seed_overview
from tests.dashboards.test_security import seed_security
from tests.logs.factories import LogInFactory
from tests.security.factories import SecurityEventFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
WINDOW = {"start": T0.timestamp(), "end": (T0 + timedelta(minutes=4)).timestamp()}


def _line(body: dict, label: str) -> list[list[float]]:
    return next(line["points"] for line in body["lines"] if line["label"] == label)


def test_ingest_rates_count_per_minute_with_zeros(viewer_client):
    t0_ns = int(T0.timestamp()) * 10**9
    logs_write(logs=[LogInFactory(ts_ns=t0_ns + s * 10**9) for s in (5, 10, 70)])
    SecurityEventFactory(at_s=130)
    SecurityEventFactory(at_s=200, service="aivmon")  # aivmon's own: not ingest

    body = viewer_client.get("/api/v1/dashboards/ingest-rates", WINDOW).json()

    minutes = [T0.timestamp() + 60 * n for n in range(5)]
    assert body["step_s"] == 60
    assert [t for t, _ in _line(body, "log records")] == minutes
    assert [n for _, n in _line(body, "log records")] == [2, 1, 0, 0, 0]
    assert [n for _, n in _line(body, "security events")] == [0, 0, 1, 0, 0]
    assert [n for _, n in _line(body, "spans")] == [0, 0, 0, 0, 0]


def test_security_timeline_has_a_coloured_line_per_severity_seen(viewer_client):
    SecurityEventFactory(at_s=10, severity=Severity.HIGH)
    SecurityEventFactory(at_s=20, severity=Severity.HIGH)
    SecurityEventFactory(at_s=100, severity=Severity.INFO)

    body = viewer_client.get("/api/v1/dashboards/security-timeline", WINDOW).json()

    assert [line["label"] for line in body["lines"]] == ["info", "high"]
    assert [n for _, n in _line(body, "high")] == [2, 0, 0, 0, 0]
    assert [n for _, n in _line(body, "info")] == [0, 1, 0, 0, 0]
    assert all(line["color"].startswith("#") for line in body["lines"])


def test_long_ranges_count_per_hour(viewer_client):
    seed_alerts(firing=2)
    now = timezone.now()
    window = {"start": (now - timedelta(days=1)).timestamp(), "end": now.timestamp()}

    body = viewer_client.get("/api/v1/dashboards/alert-timeline", window).json()

    assert body["step_s"] == 3600
    assert sum(n for _, n in _line(body, "high")) == 2
    assert len(_line(body, "high")) in (24, 25)


@pytest.mark.parametrize(
    "query",
    [
        {"start": "yesterday"},
        {"start": "2026-11-02T10:00:00Z", "end": "2026-11-02T09:00:00Z"},
        {"start": "2026-01-01T00:00:00Z", "end": "2026-11-02T00:00:00Z"},
    ],
)
def test_a_bad_window_is_a_400_in_the_error_envelope(viewer_client, query):
    answer = viewer_client.get("/api/v1/dashboards/security-timeline", query)

    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "invalid"


def test_the_chart_endpoints_need_a_signed_in_user_or_a_read_key(client, make_key):
    assert client.get("/api/v1/dashboards/ingest-rates").status_code in (401, 403)
    key = make_key("read")
    answer = client.get("/api/v1/dashboards/alert-timeline", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert answer.status_code == 200


# ---- query counts: the same with a little and with much data ---------------------------------
PAGES = {"/ui/": 12, "/ui/security/": 10, "/ui/alerts/": 7}
ALERT_DETAIL_QUERIES = 7


def test_the_pages_issue_a_fixed_number_of_queries(viewer_client):
    seed_overview(items=1)
    seed_security(events=1)
    little = {url: queries_for(viewer_client, url) for url in PAGES}

    seed_overview(items=40)
    seed_security(events=60)
    seed_alerts(firing=5, resolved=30)
    much = {url: queries_for(viewer_client, url) for url in PAGES}

    assert little == much == PAGES


def test_an_alert_page_issues_a_fixed_number_of_queries(viewer_client):
    first = seed_alerts(firing=1)[0]
    little = queries_for(viewer_client, f"/ui/alerts/{first.pk}/")

    busy = seed_alerts(firing=8)[0]
    much = queries_for(viewer_client, f"/ui/alerts/{busy.pk}/")

    assert little == much == ALERT_DETAIL_QUERIES
