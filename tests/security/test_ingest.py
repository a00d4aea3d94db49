"""POST /api/v1/ingest/security-events: each event scored, stored scrubbed, bad items named."""

import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.security import analysis
from apps.security.detectors.base import Event
from apps.security.models import SecurityEvent
from tests.conftest import key_client
from tests.security.support import event, failures, post_events

pytestmark = pytest.mark.django_db

INJECTION = "1' UNION SELECT username, password FROM users--"


@pytest.fixture
def ingest(make_key):
    return key_client(make_key("ingest"))


def test_the_api_md_example_is_scored_and_stored(ingest):
    response = post_events(
        ingest,
        [
            {
                "timestamp": time.time(),
                "event_type": "auth_failure",
                "user_id": "alice",
                "source_ip": "203.0.113.7",
                "endpoint": "/login",
                "method": "POST",
                "params": {"username": "alice"},
                "details": {},
            }
        ],
    )

    body = response.json()
    stored = SecurityEvent.objects.get()
    assert response.status_code == 200
    assert body["accepted"] == 1 and body["rejected"] == 0
    assert body["results"] == [
        {"index": 0, "threat_score": 0.0, "severity": "info", "detections": []}
    ]
    assert (stored.event_type, stored.user_id, stored.source_ip) == (
        "auth_failure",
        "alice",
        "203.0.113.7",
    )
    assert (stored.service, stored.endpoint, stored.method) == ("api", "/login", "POST")


def test_a_third_failed_login_in_five_minutes_is_a_low_brute_force(ingest):
    results = post_events(ingest, failures(3)).json()["results"]

    last = results[-1]
    assert [r["severity"] for r in results[:2]] == ["info", "info"]
    assert last["severity"] == "low"
    assert "brute_force" in {d["detector"] for d in last["detections"]}
    assert 0.0 < last["threat_score"] <= 1.0


def test_an_injection_in_a_param_is_detected_and_the_params_are_stored_scrubbed(ingest):
    params = {"q": INJECTION, "password": "hunter2", "contact": "bob@example.com"}

    result = post_events(ingest, [event(params=params)]).json()["results"][0]

    stored = SecurityEvent.objects.get().params
    assert result["severity"] in {"medium", "high", "critical"}
    assert [d["detector"] for d in result["detections"]] == ["sql_injection"]
    assert stored["password"] == "[scrubbed]"
    assert stored["contact"] == "[scrubbed]"
    assert stored["q"] == INJECTION


def test_a_mixed_batch_keeps_the_good_events_and_names_the_bad(ingest):
    batch = [
        event(),
        event(source_ip="999.1.1.1"),
        event(event_type=""),
        event(method="GET /"),
        event(timestamp=time.time() - 90 * 86400),
        event(params="not an object"),
        event(user_id="x" * 201),
    ]

    body = post_events(ingest, batch).json()

    messages = {error["index"]: error["message"] for error in body["errors"]}
    assert body["accepted"] == 1 and body["rejected"] == 6
    assert [r["index"] for r in body["results"]] == [0]
    assert messages[1].startswith("source_ip")
    assert messages[2].startswith("event_type")
    assert messages[3].startswith("method")
    assert messages[4].startswith("timestamp")
    assert messages[5].startswith("params")
    assert messages[6].startswith("user_id")
    assert SecurityEvent.objects.count() == 1


def test_a_batch_of_only_bad_events_is_a_400_and_stores_nothing(ingest):
    response = post_events(ingest, [event(source_ip="nope")])

    assert response.status_code == 400
    assert response.json()["accepted"] == 0
    assert not SecurityEvent.objects.exists()


@pytest.mark.parametrize(
    "body",
    [{"events": []}, {"events": "x"}, "just text", {"service": "", "events": [{}]}],
    ids=["empty", "not-a-list", "not-an-object", "empty-service"],
)
def test_a_malformed_batch_is_a_400_in_the_error_envelope(ingest, body):
    response = post_events(ingest, body)

    assert response.status_code == 400
    assert set(response.json()["error"]) == {"code", "message", "details"}


def test_ip_addresses_are_stored_in_canonical_form(ingest):
    post_events(
        ingest,
        [
            event(source_ip="2001:DB8:0:0::1"),
            event(source_ip="::ffff:198.51.100.4"),
            event(source_ip=""),
        ],
    )

    assert set(SecurityEvent.objects.values_list("source_ip", flat=True)) == {
        "2001:db8::1",
        "198.51.100.4",
        None,
    }


def test_ingest_needs_a_key_with_the_ingest_scope(make_key, client):
    reader = key_client(make_key("read"))

    assert post_events(client, [event()]).status_code == 401
    assert post_events(reader, [event()]).status_code == 403
    assert not SecurityEvent.objects.exists()


def test_only_json_is_accepted(ingest):
    response = ingest.post("/api/v1/ingest/security-events", "<x/>", content_type="application/xml")

    assert response.status_code == 415


def test_a_batch_costs_the_same_queries_whatever_its_size(ingest):
    post_events(ingest, [event()])  # the key and the thresholds are cached after this

    def queries(size: int) -> int:
        batch = failures(size, ip=f"198.51.100.{size}", user=f"user{size}")
        batch.append(event(params={"q": INJECTION}))
        with CaptureQueriesContext(connection) as captured:
            assert post_events(ingest, batch).status_code == 200
        return len(captured)

    assert queries(12) == queries(400)


def test_ingest_answers_503_when_redis_is_unreachable(ingest, settings):
    from apps.core.redis import redis_client
    from apps.security import analysis

    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    redis_client.cache_clear()
    analysis.detectors.cache_clear()
    try:
        response = post_events(ingest, [event()])
    finally:
        redis_client.cache_clear()
        analysis.detectors.cache_clear()

    assert response.status_code == 503
    assert response["Retry-After"] == "1"
    assert not SecurityEvent.objects.exists()


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)
_FIELDS = st.dictionaries(
    st.sampled_from(
        [
            "timestamp",
            "event_type",
            "user_id",
            "source_ip",
            "endpoint",
            "method",
            "params",
            "details",
        ]
    ),
    _JSON,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(items=st.lists(_FIELDS, min_size=1, max_size=5))
def test_arbitrary_items_never_cause_a_server_error_and_good_ones_are_kept(ingest, items):
    before = SecurityEvent.objects.count()

    response = post_events(ingest, [*items, event()])

    body = response.json()
    assert response.status_code == 200
    assert body["accepted"] + body["rejected"] == len(items) + 1
    assert SecurityEvent.objects.count() - before == body["accepted"]


def test_the_detectors_answer_together_as_each_would_alone(detector_redis):
    start = time.time() - 60
    events = [
        Event(
            start + i,
            "auth_failure",
            user_id="alice",
            source_ip="203.0.113.7",
            endpoint="/login",
            params={"username": INJECTION},
            event_id=f"e{i}",
        )
        for i in range(12)
    ]

    together = analysis.analyse(events)
    detector_redis.flushdb()
    alone = [detector.analyse(events) for detector in analysis.detectors()]

    assert together == [[found for per in alone for found in per[i]] for i in range(len(events))]
    assert {found.detector for found in together[-1]} == {"sql_injection", "brute_force"}
