import pytest
from django.test import Client

from apps.traces.services import spans_write
from tests.conftest import key_client
from tests.traces.factories import MS, T0_NS, SpanInFactory, span_id, trace_id

pytestmark = pytest.mark.django_db

T0_S = T0_NS // 1_000_000_000


def _list(client, **params) -> dict:
    response = client.get("/api/v1/traces", params)
    assert response.status_code == 200, response.content
    return response.json()


def _ids(client, **params) -> list[str]:
    return [summary["trace_id"] for summary in _list(client, **params)["results"]]


@pytest.fixture
def three_traces():
    """Trace 1 (oldest): api only, 10 ms. Trace 2: api -> db with an error, 250 ms.
    Trace 3 (newest): web -> api, 40 ms, route /pay."""
    spans_write(
        spans=[
            SpanInFactory(trace=1, span=11, at_ms=0, ms=10, name="GET /health"),
            SpanInFactory(trace=2, span=21, at_ms=1000, ms=250, name="GET /orders"),
            SpanInFactory(
                trace=2,
                span=22,
                parent=21,
                at_ms=1010,
                ms=200,
                service="db",
                name="SELECT orders",
                status="ERROR",
                attributes={"db.system": "postgresql", "rows": 3},
            ),
            SpanInFactory(trace=3, span=31, at_ms=2000, ms=40, service="web", name="POST /pay"),
            SpanInFactory(
                trace=3,
                span=32,
                parent=31,
                at_ms=2005,
                ms=30,
                attributes={"http.route": "/pay", "http.status_code": 201, "cached": False},
            ),
        ]
    )


def test_traces_are_listed_newest_first_with_their_summary(viewer_client, three_traces):
    body = _list(viewer_client)

    assert [s["trace_id"] for s in body["results"]] == [trace_id(3), trace_id(2), trace_id(1)]
    assert body["next"] is None
    assert body["results"][1] == {
        "trace_id": trace_id(2),
        "root_service": "api",
        "root_name": "GET /orders",
        "start": "2025-11-26T23:33:21Z",
        "end": "2025-11-26T23:33:21.250000Z",
        "duration_ms": 250.0,
        "span_count": 2,
        "error_count": 1,
        "services": ["api", "db"],
    }


def test_the_list_pages_with_an_opaque_cursor(viewer_client, three_traces):
    first = _list(viewer_client, limit=2)
    second = _list(viewer_client, limit=2, cursor=first["next"])

    assert [s["trace_id"] for s in first["results"]] == [trace_id(3), trace_id(2)]
    assert [s["trace_id"] for s in second["results"]] == [trace_id(1)]
    assert second["next"] is None


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"service": "db"}, [2]),
        ({"service": "api"}, [3, 2, 1]),
        ({"name": "POST /pay"}, [3]),
        ({"status": "ERROR"}, [2]),
        ({"status": "error"}, [2]),
        ({"status": "TIMEOUT"}, []),
        ({"min_duration_ms": "40"}, [3, 2]),
        ({"max_duration_ms": "40"}, [3, 1]),
        ({"min_duration_ms": "11", "max_duration_ms": "100"}, [3]),
        ({"attr.http.route": "/pay"}, [3]),
        ({"attr.http.status_code": "201"}, [3]),
        ({"attr.http.status_code": "200"}, [3, 2, 1]),
        ({"attr.rows": "3"}, [2]),
        ({"attr.cached": "false"}, [3]),
        ({"attr.db.system": "postgresql", "attr.rows": "4"}, []),
        ({"service": "db", "attr.http.route": "/pay"}, []),
        ({"start": str(T0_S + 1)}, [3, 2]),
        ({"end": str(T0_S + 1.5)}, [2, 1]),
        ({"start": "2025-11-26T23:33:21Z", "end": "2025-11-26T23:33:21.5+00:00"}, [2]),
        ({"start": "2025-11-26T23:33:22"}, [3]),
    ],
)
def test_the_list_filters(viewer_client, three_traces, params, expected):
    assert _ids(viewer_client, **params) == [trace_id(n) for n in expected]


def test_span_filters_must_all_hold_on_the_same_span(viewer_client, three_traces):
    # Trace 2 has an api span and an ERROR span, but no ERROR span from api.
    assert _ids(viewer_client, service="api", status="ERROR") == []
    assert _ids(viewer_client, service="db", status="ERROR") == [trace_id(2)]


def test_several_values_of_one_attribute_match_either(viewer_client, three_traces):
    response = viewer_client.get("/api/v1/traces?attr.rows=3&attr.rows=201")

    assert [s["trace_id"] for s in response.json()["results"]] == [trace_id(2)]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "MAYBE"}, "status"),
        ({"min_duration_ms": "-1"}, "min_duration_ms"),
        ({"max_duration_ms": "fast"}, "max_duration_ms"),
        ({"min_duration_ms": "nan"}, "min_duration_ms"),
        ({"min_duration_ms": "1e999"}, "min_duration_ms"),
        ({"start": "yesterday"}, "start"),
        ({"start": "1e99999999999999999999"}, "start"),
        ({"end": "-5"}, "end"),
        ({"start": "20", "end": "10"}, "end"),
        ({'attr.a"b': "1"}, 'attr.a"b'),
        ({"attr.": "1"}, "attr."),
        ({"service": "a\x00b"}, "service"),
        ({"limit": "0"}, "limit"),
        ({"cursor": "garbage"}, "cursor"),
    ],
)
def test_bad_parameters_are_a_400_naming_them(viewer_client, params, field):
    response = viewer_client.get("/api/v1/traces", params)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert field in response.json()["error"]["details"]


@pytest.mark.parametrize("value", ["1e400", "99999999999999999999999", "-0.0", "true", "null"])
def test_odd_attribute_values_match_nothing_rather_than_fail(viewer_client, three_traces, value):
    assert _ids(viewer_client, **{"attr.rows": value}) == []


def test_a_trace_is_a_tree_of_spans_with_every_field(viewer_client, three_traces):
    response = viewer_client.get(f"/api/v1/traces/{trace_id(2)}")

    assert response.status_code == 200
    body = response.json()
    assert (body["trace_id"], body["span_count"], body["truncated"]) == (trace_id(2), 2, False)
    [root] = body["spans"]
    [child] = root["children"]
    assert root["span_id"] == span_id(21)
    assert root["parent_span_id"] is None
    assert child == {
        "trace_id": trace_id(2),
        "span_id": span_id(22),
        "parent_span_id": span_id(21),
        "service": "db",
        "name": "SELECT orders",
        "kind": "server",
        "start": "2025-11-26T23:33:21.010000Z",
        "end": "2025-11-26T23:33:21.210000Z",
        "start_ns": T0_NS + 1010 * MS,
        "end_ns": T0_NS + 1210 * MS,
        "duration_ms": 200.0,
        "status": "ERROR",
        "status_message": "",
        "attributes": {"db.system": "postgresql", "rows": 3},
        "events": [],
        "resource": {"service.name": "api"},
        "critical_path": True,
        "children": [],
    }


def test_spans_whose_parent_has_not_arrived_are_roots(viewer_client):
    spans_write(
        spans=[
            SpanInFactory(span=1, at_ms=0),
            SpanInFactory(span=2, parent=1, at_ms=1),
            SpanInFactory(span=3, parent=99, at_ms=2),
        ]
    )

    roots = viewer_client.get(f"/api/v1/traces/{trace_id(1)}").json()["spans"]

    assert [root["span_id"] for root in roots] == [span_id(1), span_id(3)]
    assert [child["span_id"] for child in roots[0]["children"]] == [span_id(2)]


def test_a_very_deep_trace_is_still_answered(viewer_client):
    chain = [SpanInFactory(span=1)] + [
        SpanInFactory(span=n, parent=n - 1, at_ms=n) for n in range(2, 1502)
    ]
    spans_write(spans=chain)

    response = viewer_client.get(f"/api/v1/traces/{trace_id(1)}")

    assert response.status_code == 200
    assert response.json()["span_count"] == 1501


def test_a_trace_is_found_by_its_id_in_upper_case_and_answered_in_lower_case(viewer_client):
    spans_write(spans=[SpanInFactory(trace=0xABC, span=1)])

    response = viewer_client.get(f"/api/v1/traces/{trace_id(0xABC).upper()}")

    assert response.status_code == 200
    assert response.json()["trace_id"] == trace_id(0xABC)


@pytest.mark.parametrize("raw_id", [trace_id(404), "not-a-trace", "A" * 32, "G" * 32, "0" * 33])
def test_an_unknown_or_malformed_trace_id_is_a_404_in_the_envelope(viewer_client, raw_id):
    response = viewer_client.get(f"/api/v1/traces/{raw_id}")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("path", ["/api/v1/traces", f"/api/v1/traces/{trace_id(1)}"])
def test_viewers_and_read_keys_may_read_traces(viewer_client, make_key, three_traces, path):
    assert viewer_client.get(path).status_code == 200
    assert key_client(make_key("read")).get(path).status_code == 200


@pytest.mark.parametrize("path", ["/api/v1/traces", f"/api/v1/traces/{trace_id(1)}"])
def test_anonymous_callers_get_a_401(path):
    response = Client().get(path)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


@pytest.mark.parametrize("path", ["/api/v1/traces", f"/api/v1/traces/{trace_id(1)}"])
def test_an_ingest_only_key_gets_a_403(make_key, path):
    response = key_client(make_key("ingest")).get(path)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
