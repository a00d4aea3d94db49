import pytest
from django.db import connection
from django.test import Client

from apps.logs import fulltext
from apps.logs.models import LogRecord
from apps.logs.services import logs_write
from tests.conftest import key_client
from tests.logs.factories import T0_NS, LogInFactory

pytestmark = pytest.mark.django_db

T0_S = T0_NS // 1_000_000_000
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
SPAN = "00f067aa0ba902b7"


def _list(client, **params) -> dict:
    response = client.get("/api/v1/logs", params)
    assert response.status_code == 200, response.content
    return response.json()


def _bodies(client, **params) -> list[str]:
    return [record["body"] for record in _list(client, **params)["results"]]


@pytest.fixture
def records():
    """Five records a second apart, oldest first."""
    logs_write(
        logs=[
            LogInFactory(at_s=0, severity_number=5, severity_text="DEBUG", body="cache warm"),
            LogInFactory(
                at_s=1,
                body="GET /login served in 12ms",
                attributes={"http.status_code": 200, "route": "/login"},
            ),
            LogInFactory(
                at_s=2,
                severity_number=13,
                severity_text="WARN",
                body="Payment retry for order 42",
                service="billing",
                attributes={"order": 42, "retry": True},
            ),
            LogInFactory(
                at_s=3,
                severity_number=17,
                severity_text="ERROR",
                body="payment FAILED: card declined",
                service="billing",
                attributes={"order": "42"},
                trace_id=TRACE,
                span_id=SPAN,
            ),
            LogInFactory(at_s=4, severity_number=21, severity_text="FATAL", body="out of memory"),
        ]
    )


def test_records_are_listed_newest_first_with_every_field(viewer_client, records):
    body = _list(viewer_client)

    assert [r["body"] for r in body["results"]] == [
        "out of memory",
        "payment FAILED: card declined",
        "Payment retry for order 42",
        "GET /login served in 12ms",
        "cache warm",
    ]
    record = body["results"][1]
    assert isinstance(record.pop("id"), int)
    assert record == {
        "timestamp": "2025-11-26T23:33:23Z",
        "timestamp_ns": T0_NS + 3_000_000_000,
        "severity": "ERROR",
        "severity_number": 17,
        "body": "payment FAILED: card declined",
        "service": "billing",
        "attributes": {"order": "42"},
        "resource": {"service.name": "api"},
        "trace_id": TRACE,
        "span_id": SPAN,
    }
    assert body["results"][0]["trace_id"] is None


def test_records_of_one_instant_keep_a_stable_newest_first_order(viewer_client):
    logs_write(logs=[LogInFactory(body=f"same instant {n}") for n in range(5)])

    first = _list(viewer_client, limit=2)
    rest = _list(viewer_client, limit=3, cursor=first["next"])

    bodies = [r["body"] for r in first["results"] + rest["results"]]
    assert bodies == [f"same instant {n}" for n in (4, 3, 2, 1, 0)]
    assert rest["next"] is None


def test_the_list_pages_with_an_opaque_cursor(viewer_client, records):
    first = _list(viewer_client, limit=2)
    second = _list(viewer_client, limit=2, cursor=first["next"])
    third = _list(viewer_client, limit=2, cursor=second["next"])

    assert len(first["results"]) == len(second["results"]) == 2
    assert [r["body"] for r in third["results"]] == ["cache warm"]
    assert third["next"] is None


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"service": "billing"}, ["payment FAILED: card declined", "Payment retry for order 42"]),
        (
            {"min_severity": "WARN"},
            ["out of memory", "payment FAILED: card declined", "Payment retry for order 42"],
        ),
        (
            {"min_severity": "warning"},
            ["out of memory", "payment FAILED: card declined", "Payment retry for order 42"],
        ),
        ({"min_severity": "error"}, ["out of memory", "payment FAILED: card declined"]),
        ({"min_severity": "21"}, ["out of memory"]),
        (
            {"min_severity": "0"},
            [
                "out of memory",
                "payment FAILED: card declined",
                "Payment retry for order 42",
                "GET /login served in 12ms",
                "cache warm",
            ],
        ),
        ({"trace_id": TRACE}, ["payment FAILED: card declined"]),
        ({"trace_id": TRACE.upper()}, ["payment FAILED: card declined"]),
        ({"attr.order": "42"}, ["payment FAILED: card declined", "Payment retry for order 42"]),
        ({"attr.retry": "true"}, ["Payment retry for order 42"]),
        ({"attr.http.status_code": "200", "attr.route": "/login"}, ["GET /login served in 12ms"]),
        ({"start": str(T0_S + 3)}, ["out of memory", "payment FAILED: card declined"]),
        ({"end": str(T0_S + 0.5)}, ["cache warm"]),
        (
            {"start": "2025-11-26T23:33:21Z", "end": "2025-11-26T23:33:22+00:00"},
            ["Payment retry for order 42", "GET /login served in 12ms"],
        ),
        (
            {"q": "payment", "service": "billing", "min_severity": "ERROR"},
            ["payment FAILED: card declined"],
        ),
    ],
)
def test_the_list_filters(viewer_client, records, params, expected):
    assert _bodies(viewer_client, **params) == expected


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("payment", ["payment FAILED: card declined", "Payment retry for order 42"]),
        ("PAYMENT", ["payment FAILED: card declined", "Payment retry for order 42"]),
        ("failed payment", ["payment FAILED: card declined"]),
        ("payment declined retry", []),
        ("12ms", ["GET /login served in 12ms"]),
        ("login", ["GET /login served in 12ms"]),
        ("/login", ["GET /login served in 12ms"]),
        ("order 42", ["Payment retry for order 42"]),
        ("FAILED:", ["payment FAILED: card declined"]),
        ("memory out", ["out of memory"]),
        ("paym", []),
    ],
)
def test_full_text_search_needs_every_word_in_any_case(viewer_client, records, q, expected):
    assert _bodies(viewer_client, q=q) == expected


@pytest.mark.parametrize(
    "q",
    [
        '"',
        '"payment',
        "payment*",
        "*",
        "NEAR(payment failed)",
        "NEAR(",
        "-payment",
        "payment -failed",
        "'",
        "o'brien",
        "payment OR memory",
        "payment AND",
        "NOT payment",
        "body:payment",
        "^payment",
        "(payment",
        "payment)",
        "{body}: payment",
        "a & b | !c",
        "payment:*",
        "\\",
        "%_%",
        "😀 payment",
        "  ",
    ],
)
def test_search_syntax_characters_are_plain_text_and_never_an_error(viewer_client, records, q):
    response = viewer_client.get("/api/v1/logs", {"q": q})

    assert response.status_code == 200
    assert all("payment" in r["body"].lower() for r in response.json()["results"])


def test_operators_are_words_like_any_other(viewer_client, records):
    assert _bodies(viewer_client, q="payment OR memory") == []  # no body holds "or"
    assert _bodies(viewer_client, q="NEAR(payment failed)") == []  # nor "near"
    assert _bodies(viewer_client, q='"card" -declined*') == ["payment FAILED: card declined"]


def test_a_query_with_no_words_matches_nothing(viewer_client, records):
    assert _bodies(viewer_client, q='"*"') == []


def test_an_empty_query_is_no_filter(viewer_client, records):
    assert len(_bodies(viewer_client, q="")) == 5


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"min_severity": "LOUD"}, "min_severity"),
        ({"min_severity": "25"}, "min_severity"),
        ({"min_severity": "-1"}, "min_severity"),
        ({"trace_id": "xyz"}, "trace_id"),
        ({"start": "soon"}, "start"),
        ({"start": "30", "end": "20"}, "end"),
        ({"attr.bad key": "1"}, "attr.bad key"),
        ({"q": "a" * 1001}, "q"),
        ({"q": "a\x00b"}, "q"),
        ({"limit": "1001"}, "limit"),
        ({"cursor": "garbage"}, "cursor"),
    ],
)
def test_bad_parameters_are_a_400_naming_them(viewer_client, params, field):
    response = viewer_client.get("/api/v1/logs", params)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert field in response.json()["error"]["details"]


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's full-text index")
def test_on_sqlite_the_bodies_are_in_an_fts5_index(records):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM logs_logrecord_fts WHERE logs_logrecord_fts MATCH 'payment'"
        )
        assert cursor.fetchone() == (2,)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's full-text index")
def test_on_postgresql_searches_use_the_gin_index_over_the_bodies(records):
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
    plan = fulltext.matching(LogRecord.objects.all(), "payment").explain()

    assert "logs_record_body_fts" in plan


def test_viewers_and_read_keys_may_read_logs(viewer_client, make_key):
    assert viewer_client.get("/api/v1/logs").status_code == 200
    assert key_client(make_key("read")).get("/api/v1/logs").status_code == 200


def test_anonymous_callers_get_a_401():
    response = Client().get("/api/v1/logs")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_an_ingest_only_key_gets_a_403(make_key):
    response = key_client(make_key("ingest")).get("/api/v1/logs")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
