"""Native JSON batches (API.md): per-item errors, 200 when any item is kept, 400 when none."""

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import key_client

pytestmark = pytest.mark.django_db

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


def _post(client, kind: str, body):
    return client.post(f"/api/v1/ingest/{kind}", body, content_type="application/json")


def test_the_api_md_metrics_example_is_accepted(ingest, reader):
    now = time.time()
    response = _post(
        ingest,
        "metrics",
        {
            "service": "api",
            "points": [
                {
                    "name": "http_requests_total",
                    "type": "counter",
                    "value": 3,
                    "timestamp": now,
                    "labels": {"route": "/login", "status": "200"},
                },
                {"name": "queue_depth", "type": "gauge", "value": 17},
                {"name": "request_seconds", "type": "histogram", "value": 0.042},
            ],
        },
    )

    names = sorted(s["name"] for s in reader.get("/api/v1/metrics/series").json()["results"])
    assert response.status_code == 200
    assert response.json() == {"accepted": 3, "rejected": 0, "errors": []}
    assert names == ["http_requests_total", "queue_depth", "request_seconds"]


def test_a_mixed_batch_keeps_the_good_items_and_names_the_bad(ingest):
    response = _post(
        ingest,
        "metrics",
        {
            "service": "api",
            "points": [
                {"name": "ok_total", "type": "counter", "value": 1},
                {"name": "bad name", "type": "counter", "value": 1},
                {"name": "nan_gauge", "type": "gauge", "value": "NaN"},
                {"name": "old", "type": "gauge", "value": 1, "timestamp": time.time() - 40 * 86400},
                {"name": "ok_gauge", "type": "gauge", "value": 2},
            ],
        },
    )

    body = response.json()
    assert response.status_code == 200 and body["accepted"] == 2 and body["rejected"] == 3
    assert [e["index"] for e in body["errors"]] == [1, 2, 3]
    assert "must match" in body["errors"][0]["message"]


def test_a_batch_with_nothing_good_is_a_400_with_the_reasons(ingest):
    response = _post(ingest, "metrics", {"points": [{"name": "x", "type": "bogus", "value": 1}]})

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"index": 0, "message": "type: must be counter, gauge, histogram or timer"}
    ]


def test_a_pre_aggregated_histogram_is_accepted(ingest, reader):
    response = _post(
        ingest,
        "metrics",
        {
            "service": "api",
            "points": [
                {
                    "name": "latency_seconds",
                    "type": "histogram",
                    "count": 10,
                    "sum": 2.5,
                    "buckets": {"0.1": 4, "0.5": 9, "+Inf": 10},
                }
            ],
        },
    )

    assert response.json()["accepted"] == 1
    assert reader.get("/api/v1/metrics/query?name=latency_seconds&agg=p50").status_code == 200


def test_decreasing_cumulative_buckets_are_refused(ingest):
    response = _post(
        ingest,
        "metrics",
        {
            "points": [
                {
                    "name": "h",
                    "type": "histogram",
                    "count": 5,
                    "sum": 1,
                    "buckets": {"1": 4, "2": 3},
                }
            ]
        },
    )

    assert "must not decrease" in response.json()["errors"][0]["message"]


def test_the_api_md_spans_example_is_accepted(ingest, reader):
    now = time.time()
    response = _post(
        ingest,
        "spans",
        {
            "service": "api",
            "spans": [
                {
                    "trace_id": TRACE_ID,
                    "span_id": "00f067aa0ba902b7",
                    "parent_span_id": None,
                    "name": "GET /login",
                    "kind": "server",
                    "start_time": now - 0.25,
                    "end_time": now,
                    "status": "OK",
                    "attributes": {"http.status_code": 200},
                }
            ],
        },
    )

    assert response.json() == {"accepted": 1, "rejected": 0, "errors": []}
    summary = reader.get("/api/v1/traces").json()["results"][0]
    assert summary["root_name"] == "GET /login" and 240 <= summary["duration_ms"] <= 260


@pytest.mark.parametrize(
    ("span", "message"),
    [
        ({"trace_id": "xyz"}, "trace_id"),
        ({"span_id": "00f067aa0ba902"}, "span_id"),
        ({"end_time": 1.0}, "end_time"),
        ({"status": "FINE"}, "status"),
        ({"kind": "sideways"}, "kind"),
    ],
)
def test_bad_spans_are_refused_with_a_clear_message(ingest, span, message):
    now = time.time()
    good = {
        "trace_id": TRACE_ID,
        "span_id": "00f067aa0ba902b7",
        "name": "x",
        "start_time": now - 1,
        "end_time": now,
    }

    response = _post(ingest, "spans", {"spans": [{**good, **span}]})

    assert response.status_code == 400
    assert message in response.json()["errors"][0]["message"]


def test_the_api_md_logs_example_is_accepted_and_scrubbed(ingest, reader):
    response = _post(
        ingest,
        "logs",
        {
            "service": "api",
            "logs": [
                {
                    "timestamp": time.time(),
                    "severity": "ERROR",
                    "body": "payment failed for bob@x.io",
                    "attributes": {"order": 42, "api_key": "k"},
                    "trace_id": TRACE_ID,
                    "span_id": "00f067aa0ba902b7",
                }
            ],
        },
    )

    record = reader.get("/api/v1/logs").json()["results"][0]
    assert response.json()["accepted"] == 1
    assert record["body"] == "payment failed for [scrubbed]"
    assert record["attributes"] == {"order": 42, "api_key": "[scrubbed]"}


def test_an_oversized_log_body_is_truncated_with_a_marker(ingest, reader):
    _post(ingest, "logs", {"logs": [{"body": "x" * 100_000}]})

    body = reader.get("/api/v1/logs").json()["results"][0]["body"]

    assert len(body) == 64 * 1024 and body.endswith("…[truncated]")


@pytest.mark.parametrize(
    "body", [[], {"points": []}, {"points": "x"}, {"service": 3, "points": [{}]}]
)
def test_a_malformed_batch_is_a_400(ingest, body):
    assert _post(ingest, "metrics", body).status_code == 400


def test_the_batch_service_is_the_default_for_items(ingest, reader):
    _post(
        ingest,
        "metrics",
        {
            "service": "api",
            "points": [
                {"name": "a", "type": "gauge", "value": 1},
                {"name": "a", "type": "gauge", "value": 1, "service": "worker"},
            ],
        },
    )

    services = sorted(s["service"] for s in reader.get("/api/v1/metrics/series").json()["results"])

    assert services == ["api", "worker"]


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    kind=st.sampled_from(["metrics", "spans", "logs"]),
    items=st.lists(
        st.dictionaries(
            st.sampled_from(
                [
                    "name",
                    "type",
                    "value",
                    "timestamp",
                    "labels",
                    "trace_id",
                    "span_id",
                    "start_time",
                    "end_time",
                    "status",
                    "kind",
                    "severity",
                    "body",
                    "attributes",
                    "count",
                    "sum",
                    "buckets",
                    "service",
                ]
            ),
            st.none()
            | st.booleans()
            | st.integers()
            | st.floats()
            | st.text(max_size=40)
            | st.lists(st.integers(), max_size=3)
            | st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
        ),
        max_size=5,
    ),
)
def test_no_batch_makes_a_server_error(make_key, kind, items):
    client = key_client(make_key("ingest"))
    key = {"metrics": "points", "spans": "spans", "logs": "logs"}[kind]

    response = _post(client, kind, {"service": "api", key: items})

    assert response.status_code in {200, 400}
    assert response.json()
