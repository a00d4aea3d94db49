"""The SDK exports to a live aivmon; the query API returns what it sent."""

import asyncio
import logging

import pytest
from aivmon_sdk import timed_operation, traced_operation

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def obs(make_obs, live_server):
    return make_obs("shop", live_server.url)


def _hex_trace(span) -> str:
    return format(span.get_span_context().trace_id, "032x")


def test_spans_metrics_and_logs_from_the_sdk_appear_in_the_query_api(obs, reader):
    log = logging.getLogger("shop.orders")  # plain logging, under obs.logger ("shop")
    with (
        traced_operation(obs, "checkout", {"order.items": 3}) as parent,
        traced_operation(obs.tracer, "reserve stock"),
    ):
        log.warning("card declined for order %s", 42, extra={"order_id": 42})
    obs.counter("orders_total").add(2, {"region": "eu"})
    obs.histogram("basket_eur").record(31.5)
    assert obs.drain(timeout_s=30)

    tree = reader.get(f"/api/v1/traces/{_hex_trace(parent)}").json()
    series = reader.get("/api/v1/metrics/series?service=shop").json()["results"]
    logs = reader.get("/api/v1/logs?q=declined&service=shop").json()["results"]

    root = tree["spans"][0]
    assert (root["name"], root["attributes"]["order.items"]) == ("checkout", 3)
    assert [child["name"] for child in root["children"]] == ["reserve stock"]
    assert {("orders_total", "counter"), ("basket_eur", "histogram")} <= {
        (s["name"], s["type"]) for s in series
    }
    assert [(r["body"], r["severity"], r["trace_id"]) for r in logs] == [
        ("card declined for order 42", "WARN", _hex_trace(parent))
    ]
    assert logs[0]["attributes"]["order_id"] == 42


def test_a_failing_timed_operation_is_an_error_span(obs, reader):
    @timed_operation(obs, "charge card")
    def charge() -> None:
        raise ValueError("card expired")

    @timed_operation(obs, "send receipt")
    async def send_receipt() -> str:
        return "sent"

    with pytest.raises(ValueError, match="card expired"):
        charge()
    assert asyncio.run(send_receipt()) == "sent"
    assert obs.drain(timeout_s=30)

    failed = reader.get("/api/v1/traces?service=shop&status=ERROR").json()["results"]
    passed = reader.get("/api/v1/traces?service=shop&name=send+receipt").json()["results"]
    durations = reader.get("/api/v1/metrics/series?name=operation_duration_seconds").json()

    assert [(t["root_name"], t["error_count"]) for t in failed] == [("charge card", 1)]
    assert [(t["root_name"], t["error_count"]) for t in passed] == [("send receipt", 0)]
    assert sorted(
        (s["labels"]["operation"], s["labels"]["outcome"]) for s in durations["results"]
    ) == [
        ("charge card", "error"),
        ("send receipt", "ok"),
    ]


def test_pipeline_and_p2p_helpers_produce_the_shapes_the_dashboards_read(obs, reader):
    with obs.pipeline_run("train") as run:
        with run.phase("fetch"):
            pass
        with run.phase("fit"):
            obs.record_routing("gossip", ["a", "b", "c"])
    obs.record_routing("gossip", 4)
    assert obs.drain(timeout_s=30)

    tree = reader.get(f"/api/v1/traces/{_hex_trace(run.span)}").json()
    hops = reader.get("/api/v1/metrics/query?name=p2p_routing_hops&agg=p99&step=3600").json()
    messages = reader.get("/api/v1/metrics/query?name=p2p_messages_total&agg=max&step=3600").json()

    root = tree["spans"][0]
    assert (root["name"], root["attributes"]["pipeline.name"]) == ("pipeline", "train")
    assert [c["name"] for c in root["children"]] == ["phase_fetch", "phase_fit"]
    assert hops["series"][0]["labels"] == {"message_type": "gossip"}
    assert 2 <= hops["series"][0]["points"][-1][1] <= 4
    assert messages["series"][0]["points"][-1][1] == 2


def test_a_security_event_comes_back_scored_with_its_detections(obs, reader):
    obs.security_event(
        "request",
        source_ip="203.0.113.9",
        endpoint="/search",
        method="GET",
        params={"q": "1' UNION SELECT username, password FROM users --"},
    )
    obs.log_authentication_attempt("mallory", False, "203.0.113.9")
    assert obs.drain(timeout_s=30)

    events = reader.get("/api/v1/security/events?source_ip=203.0.113.9").json()["results"]

    by_type = {e["event_type"]: e for e in events}
    assert set(by_type) == {"request", "auth_failure"}
    assert "sql_injection" in {d["detector"] for d in by_type["request"]["detections"]}
    assert by_type["auth_failure"]["user_id"] == "mallory"
