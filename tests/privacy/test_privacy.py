"""GDPR export and erasure of one data subject across the apps (admin only, audited)."""

import time

import orjson
import pytest

from apps.audit.models import AuditEvent
from apps.logs.models import LogRecord
from apps.metrics.models import Series
from apps.privacy.subjects import subject_digest
from apps.security.constants import KeyType
from apps.security.models import SecurityEvent, Threat
from apps.traces.models import Span
from tests.conftest import key_client
from tests.security.factories import SecurityEventFactory, ThreatFactory

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def _seed(make_key) -> None:
    """alice and bob, each in every app; alice's log body carries an e-mail address."""
    ingest = key_client(make_key("ingest"))
    now = time.time()
    for user, n in (("alice", 1), ("bob", 2)):
        metrics = {
            "service": "api",
            "points": [
                {
                    "name": "logins",
                    "type": "counter",
                    "value": 1,
                    "labels": {"user_id": user},
                },
                {"name": "queue_depth", "type": "gauge", "value": 5, "labels": {"queue": user}},
            ],
        }
        spans = {
            "service": "api",
            "spans": [
                {
                    "trace_id": TRACE,
                    "span_id": f"00f067aa0ba902b{n}",
                    "name": "GET /orders",
                    "start_time": now - 1,
                    "end_time": now,
                    "attributes": {"enduser.id": user, "http.route": "/orders"},
                }
            ],
        }
        logs = {
            "service": "api",
            "logs": [
                {"severity": "INFO", "body": f"{user} signed in", "attributes": {"user.id": user}}
            ],
        }
        for path, body in (("metrics", metrics), ("spans", spans), ("logs", logs)):
            response = ingest.post(
                f"/api/v1/ingest/{path}", orjson.dumps(body), content_type="application/json"
            )
            assert response.status_code == 200, response.content
        SecurityEventFactory.create_batch(2, user_id=user)
        ThreatFactory(key_type=KeyType.USER, key=user)


def _export(client, user_id: str) -> dict:
    response = client.get("/api/v1/privacy/export", {"user_id": user_id})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    return orjson.loads(b"".join(response.streaming_content))


def test_export_holds_the_subjects_data_from_every_app_and_nothing_of_others(
    admin_client, make_key
):
    _seed(make_key)

    export = _export(admin_client, "alice")

    assert export["user_id"] == "alice"
    assert len(export["security_events"]) == 2
    assert {t["key"] for t in export["threats"]} == {"alice"}
    assert [r["body"] for r in export["logs"]] == ["alice signed in"]
    assert [s["attributes"]["enduser.id"] for s in export["spans"]] == ["alice"]
    assert [(m["name"], m["labels"]) for m in export["metric_series"]] == [
        ("logins", {"user_id": "alice"})
    ]
    assert "bob" not in orjson.dumps(export).decode()


def test_export_applies_the_scrubbing_rules(admin_client):
    SecurityEventFactory(user_id="alice", params={"note": "write to alice@example.com"})

    export = _export(admin_client, "alice")

    assert export["security_events"][0]["params"] == {"note": "write to [scrubbed]"}


def test_erasure_removes_the_subject_everywhere_keeps_others_and_is_audited(admin_client, make_key):
    _seed(make_key)

    response = admin_client.post(
        "/api/v1/privacy/erase", {"user_id": "alice"}, content_type="application/json"
    )

    assert response.status_code == 200
    body = response.json()
    assert body["erased"] == {"security": 3, "logs": 1, "traces": 1, "metrics": 1}
    assert body["details"]["security"] == {"threats": 1, "blocklist": 0, "events": 2}
    assert not SecurityEvent.objects.filter(user_id="alice").exists()
    assert not Threat.objects.filter(key="alice").exists()
    assert not LogRecord.objects.filter(body__contains="alice").exists()
    assert not Series.objects.filter(labels__user_id="alice").exists()
    assert Span.objects.get(span_id="00f067aa0ba902b1").attributes == {
        "enduser.id": "[erased]",
        "http.route": "/orders",
    }
    # bob is untouched in every app
    assert SecurityEvent.objects.filter(user_id="bob").count() == 2
    assert LogRecord.objects.filter(body="bob signed in").exists()
    bob = admin_client.get("/api/v1/metrics/query", {"name": "logins", "label.user_id": "bob"})
    assert [len(s["points"]) for s in bob.json()["series"]] == [1]
    # the export is now empty, and the audit log has the counts but not the id
    export = _export(admin_client, "alice")
    assert not any(export[k] for k in ("security_events", "threats", "logs", "spans"))
    record = AuditEvent.objects.get(action="privacy.erased")
    assert record.target == f"subject:{subject_digest('alice')}"
    assert "alice" not in record.details_json
    assert "alice" not in record.target


def test_erasure_twice_erases_nothing_more(admin_client, make_key):
    _seed(make_key)
    first = admin_client.post(
        "/api/v1/privacy/erase", {"user_id": "alice"}, content_type="application/json"
    )
    second = admin_client.post(
        "/api/v1/privacy/erase", {"user_id": "alice"}, content_type="application/json"
    )

    assert first.status_code == second.status_code == 200
    assert second.json()["erased"] == {"security": 0, "logs": 0, "traces": 0, "metrics": 0}


def test_erasure_also_finds_numeric_user_ids(admin_client, make_key):
    ingest = key_client(make_key("ingest"))
    body = {"service": "api", "logs": [{"body": "paid", "attributes": {"user_id": 42}}]}
    ingest.post("/api/v1/ingest/logs", orjson.dumps(body), content_type="application/json")

    response = admin_client.post(
        "/api/v1/privacy/erase", {"user_id": "42"}, content_type="application/json"
    )

    assert response.json()["erased"]["logs"] == 1


def test_erasure_takes_an_integer_user_id_as_security_ingest_stores_it(admin_client, make_key):
    ingest = key_client(make_key("ingest"))
    event = {"event_type": "auth_failure", "user_id": 5, "source_ip": "203.0.113.7"}
    ingest.post(
        "/api/v1/ingest/security-events",
        orjson.dumps({"service": "api", "events": [event]}),
        content_type="application/json",
    )

    response = admin_client.post(
        "/api/v1/privacy/erase", orjson.dumps({"user_id": 5}), content_type="application/json"
    )

    assert response.status_code == 200
    assert response.json()["erased"]["security"] == 1
    assert not SecurityEvent.objects.filter(user_id="5").exists()


@pytest.mark.parametrize("client_fixture", ["viewer_client", "operator_client"])
def test_only_admins_export_or_erase(request, client_fixture):
    client = request.getfixturevalue(client_fixture)

    export = client.get("/api/v1/privacy/export", {"user_id": "alice"})
    erase = client.post(
        "/api/v1/privacy/erase", {"user_id": "alice"}, content_type="application/json"
    )

    assert export.status_code == erase.status_code == 403
    assert erase.json()["error"]["code"]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"user_id": ""},
        {"user_id": True},
        {"user_id": 1.5},
        {"user_id": ["alice"]},
        {"user_id": "x" * 201},
        {"user_id": "a\x00b"},
        [],
    ],
)
def test_a_missing_or_bad_user_id_is_a_400(admin_client, body):
    response = admin_client.post(
        "/api/v1/privacy/erase", orjson.dumps(body), content_type="application/json"
    )

    assert response.status_code == 400
    assert "user_id" in response.content.decode()


def test_export_without_user_id_is_a_400(admin_client):
    response = admin_client.get("/api/v1/privacy/export")

    assert response.status_code == 400


def test_export_of_a_user_id_holding_nul_is_a_400(admin_client):
    response = admin_client.get("/api/v1/privacy/export", {"user_id": "a\x00b"})

    assert response.status_code == 400
