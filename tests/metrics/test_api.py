"""GET /api/v1/metrics/series and /api/v1/metrics/query over HTTP."""

import string

import orjson
import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.metrics.services import points_write
from tests.conftest import key_client
from tests.metrics.factories import T0_MS, T0_S, gauge, point

pytestmark = pytest.mark.django_db

SERIES_URL = "/api/v1/metrics/series"
QUERY_URL = "/api/v1/metrics/query"
CPU_QUERY = f"{QUERY_URL}?name=cpu&start={T0_S}&end={T0_S + 120}&step=60"


@pytest.fixture
def cpu():
    result = points_write(
        points=[
            gauge("cpu", 10, ts_ms=T0_MS, labels={"host": "a"}),
            gauge("cpu", 30, ts_ms=T0_MS + 70_000, labels={"host": "a"}),
            gauge("cpu", 50, ts_ms=T0_MS, labels={"host": "b"}),
        ]
    )
    assert result.accepted == 3


def _error(response) -> dict:
    body = orjson.loads(response.content)
    assert set(body) == {"error"}
    return body["error"]


@pytest.mark.parametrize("url", [SERIES_URL, CPU_QUERY])
def test_a_viewer_may_read(viewer_client, url):
    assert viewer_client.get(url).status_code == 200


@pytest.mark.parametrize("url", [SERIES_URL, CPU_QUERY])
def test_anonymous_requests_are_refused(client, url):
    response = client.get(url)

    assert response.status_code == 401
    assert _error(response)["code"] == "not_authenticated"


@pytest.mark.parametrize("url", [SERIES_URL, CPU_QUERY])
def test_a_key_with_the_read_scope_may_read(make_key, url):
    assert key_client(make_key("read")).get(url).status_code == 200


@pytest.mark.parametrize("url", [SERIES_URL, CPU_QUERY])
def test_an_ingest_only_key_may_not_read(make_key, url):
    response = key_client(make_key("ingest")).get(url)

    assert response.status_code == 403
    assert _error(response)["code"] == "permission_denied"


def test_the_query_answers_one_series_per_series_with_t_value_pairs(viewer_client, cpu):
    response = viewer_client.get(CPU_QUERY)

    assert response.status_code == 200
    assert orjson.loads(response.content) == {
        "series": [
            {
                "name": "cpu",
                "service": "api",
                "labels": {"host": "a"},
                "points": [[T0_S, 10.0], [T0_S + 60, 30.0]],
            },
            {"name": "cpu", "service": "api", "labels": {"host": "b"}, "points": [[T0_S, 50.0]]},
        ]
    }


def test_the_query_takes_labels_group_by_agg_and_rfc3339_times(viewer_client, cpu):
    response = viewer_client.get(
        QUERY_URL,
        {
            "name": "cpu",
            "start": "2025-11-26T23:34:00Z",
            "end": "2025-11-26T23:36:00+00:00",
            "step": "2m",
            "agg": "max",
            "group_by": "host",
            "label.host": "b",
            "service": "api",
        },
    )

    assert response.status_code == 200
    assert orjson.loads(response.content)["series"] == [
        {"name": "cpu", "service": "api", "labels": {"host": "b"}, "points": [[T0_S, 50.0]]}
    ]


def test_the_query_defaults_to_the_last_hour(viewer_client):
    points_write(points=[gauge("cpu", 1, ts_ms=T0_MS)])

    response = viewer_client.get(QUERY_URL, {"name": "cpu"})

    assert response.status_code == 200
    assert orjson.loads(response.content) == {"series": []}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "cpu", "agg": "median"}, "agg"),
        ({"name": "cpu", "step": "soon"}, "step"),
        ({"name": "cpu", "step": "NaN"}, "step"),
        ({"name": "cpu", "step": "0"}, "step"),
        ({"name": "cpu", "step": "1e999"}, "step"),
        ({"name": "cpu", "start": "yesterday"}, "start"),
        ({"name": "cpu", "end": "-5"}, "end"),
        ({"name": "cpu", "start": "2000", "end": "1000"}, "start"),
        ({"name": "cpu", "start": "0", "end": "100000", "step": "1"}, "step"),
        ({"name": "cpu\x00"}, "name"),
        ({"name": "cpu", "label.": "x"}, "label."),
    ],
)
def test_bad_query_parameters_are_a_400_naming_the_parameter(viewer_client, params, field):
    response = viewer_client.get(QUERY_URL, params)

    assert response.status_code == 400
    error = _error(response)
    assert error["code"] == "invalid"
    assert field in error["details"]


def test_a_missing_name_says_it_is_required(viewer_client):
    response = viewer_client.get(QUERY_URL)

    assert _error(response)["details"] == {"name": ["This parameter is required."]}


def test_an_unknown_agg_lists_the_known_ones(viewer_client):
    response = viewer_client.get(QUERY_URL, {"name": "cpu", "agg": "median"})

    message = _error(response)["details"]["agg"][0]
    assert "avg, min, max, sum, count, rate, p50, p90, p95, p99" in message


def test_the_series_list_shows_each_series_with_when_it_was_last_seen(viewer_client, cpu):
    response = viewer_client.get(SERIES_URL, {"name": "cpu", "label.host": "b"})

    assert response.status_code == 200
    body = orjson.loads(response.content)
    assert body["next"] is None
    (series,) = body["results"]
    assert {k: series[k] for k in ("name", "type", "service", "labels")} == {
        "name": "cpu",
        "type": "gauge",
        "service": "api",
        "labels": {"host": "b"},
    }
    assert series["last_seen"].endswith("Z")


def test_the_series_list_pages_in_creation_order(viewer_client):
    for n in ("0", "1", "2"):
        points_write(points=[point(labels={"n": n})])

    first = orjson.loads(viewer_client.get(SERIES_URL, {"limit": 2}).content)
    second = orjson.loads(viewer_client.get(SERIES_URL, {"cursor": first["next"]}).content)

    labels = [series["labels"]["n"] for series in first["results"] + second["results"]]
    assert labels == ["0", "1", "2"]
    assert second["next"] is None


def test_the_series_list_filters_by_service(viewer_client):
    points_write(points=[point(service="api"), point(service="web")])

    body = orjson.loads(viewer_client.get(SERIES_URL, {"service": "web"}).content)

    assert [series["service"] for series in body["results"]] == ["web"]


# --- robustness ------------------------------------------------------------------------------

_TEXT = st.text(alphabet=string.printable + "éß\"'\\{}:,%\x00", max_size=12)
_TIMES = st.one_of(
    _TEXT,
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.integers(min_value=-(10**15), max_value=10**15).map(str),
    st.datetimes().map(lambda moment: moment.isoformat()),
)
_FIXED = st.fixed_dictionaries(
    {},
    optional={
        "name": st.one_of(st.just("cpu"), _TEXT),
        "start": _TIMES,
        "end": _TIMES,
        "step": st.one_of(_TIMES, st.sampled_from(["1", "60", "5m", "1h", "0.001", "1e308"])),
        "agg": st.one_of(st.sampled_from(["avg", "rate", "p99", "count"]), _TEXT),
        "service": _TEXT,
        "group_by": _TEXT,
        "label.host": _TEXT,
        "limit": _TEXT,
        "cursor": _TEXT,
    },
)
_LABELS = st.dictionaries(_TEXT.map(lambda key: f"label.{key}"), _TEXT, max_size=3)
_PARAMS = st.builds(lambda fixed, labels: {**fixed, **labels}, _FIXED, _LABELS)


@settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(params=_PARAMS, url=st.sampled_from([QUERY_URL, SERIES_URL]))
def test_no_query_string_makes_the_metrics_api_fail(viewer, cpu, params, url):
    client = Client()
    client.force_login(viewer)

    response = client.get(url, params)

    assert response.status_code in (200, 400)
