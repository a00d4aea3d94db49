"""GET /api/v1/testruns and /api/v1/testruns/<id>: any role or a read key; cursor pages."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.conftest import key_client
from tests.testruns.support import MODULE, store_run, store_runs

pytestmark = pytest.mark.django_db

LIST = "/api/v1/testruns"


def test_runs_are_listed_newest_first_with_totals_and_derived_figures(viewer_client):
    store_runs([{"test_search": 0.2}] * 5 + [{"test_search": 0.5}])

    response = viewer_client.get(LIST)

    runs = response.json()["results"]
    latest = runs[0]
    assert response.status_code == 200
    assert [run["run_id"] for run in runs] == [f"run-{i}" for i in range(5, -1, -1)]
    assert latest["totals"] == {"tests": 1, "passed": 1, "failed": 0, "error": 0, "skipped": 0}
    assert latest["success_rate"] == 100.0
    assert latest["slowest"][0]["name"] == "test_search"
    assert latest["slower"] == [
        {
            "test": f"{MODULE}::test_search",
            "module": MODULE,
            "name": "test_search",
            "duration_s": 0.5,
            "baseline_s": pytest.approx(0.2),
            "baseline_runs": 5,
            "ratio": 2.5,
        }
    ]
    assert latest["modules"][0]["module"] == MODULE
    assert latest["flaky"] == []


def test_runs_can_be_filtered_by_suite_and_paged_with_a_cursor(viewer_client):
    start = timezone.now() - timedelta(hours=1)
    for i in range(3):
        store_run(str(i), [("t", "passed", 0.1)], suite="shop", at=start + timedelta(minutes=i))
    store_run("w", [("t", "passed", 0.1)], suite="web")

    first = viewer_client.get(LIST, {"suite": "shop", "limit": 2}).json()
    second = viewer_client.get(LIST, {"suite": "shop", "limit": 2, "cursor": first["next"]}).json()

    assert [run["run_id"] for run in first["results"]] == ["2", "1"]
    assert [run["run_id"] for run in second["results"]] == ["0"]
    assert second["next"] is None


def test_one_run_shows_its_failures_with_their_messages(viewer_client):
    stored = store_run("1", [("test_a", "passed", 0.1), ("test_b", "failed", 0.2)])

    response = viewer_client.get(f"{LIST}/{stored.run.pk}")

    body = response.json()
    assert response.status_code == 200
    assert body["run_id"] == "1"
    assert body["success_rate"] == 50.0
    assert body["failures"] == [
        {"module": MODULE, "name": "test_b", "outcome": "failed", "duration_s": 0.2, "message": ""}
    ]


def test_an_unknown_run_is_a_404_in_the_error_envelope(viewer_client):
    response = viewer_client.get(f"{LIST}/999999")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_a_bad_limit_is_a_400_naming_it(viewer_client):
    response = viewer_client.get(LIST, {"limit": 0})

    assert response.status_code == 400
    assert "limit" in response.json()["error"]["details"]


@pytest.mark.parametrize("client_name", ["viewer_client", "operator_client", "admin_client"])
def test_every_role_reads_test_runs(request, client_name):
    stored = store_run("1", [("t", "passed", 0.1)])
    client = request.getfixturevalue(client_name)

    assert client.get(LIST).status_code == 200
    assert client.get(f"{LIST}/{stored.run.pk}").status_code == 200


def test_a_read_key_reads_and_an_ingest_key_or_no_credentials_do_not(make_key, client):
    stored = store_run("1", [("t", "passed", 0.1)])
    reader, writer = key_client(make_key("read")), key_client(make_key("ingest"))

    assert reader.get(f"{LIST}/{stored.run.pk}").status_code == 200
    assert writer.get(LIST).status_code == 403
    assert client.get(LIST).status_code == 401


def test_a_page_of_runs_costs_the_same_queries_however_many_runs(make_key):
    reader = key_client(make_key("read"))
    reader.get(LIST)  # the key is cached after this

    def queries(count: int) -> int:
        for i in range(count):
            store_run(f"{count}-{i}", [("t", "passed", 0.1)], suite=f"s{count}")
        with CaptureQueriesContext(connection) as captured:
            reader.get(LIST, {"suite": f"s{count}"})
        return len(captured)

    assert queries(2) == queries(20)


def test_a_signed_in_user_without_a_role_reads_nothing(no_role_user, client):
    client.force_login(no_role_user)

    assert client.get(LIST).status_code == 403
