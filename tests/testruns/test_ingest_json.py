"""POST /api/v1/ingest/test-runs with JSON: fields, idempotency, refusals, fixed query count."""

import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.testruns.models import CaseResult, Run
from tests.alerts.factories import RuleFactory
from tests.conftest import key_client
from tests.testruns.support import case, post_json, post_xml, run_body

pytestmark = pytest.mark.django_db


def test_the_api_md_form_is_stored_with_its_totals(ingest):
    started = time.time() - 60
    cases = [
        case("test_a", duration=0.2),
        case("test_b", "failed", message="assert 1 == 2"),
        case("test_c", "skipped", duration=0.0),
        case("test_d", "error"),
    ]

    response = post_json(ingest, run_body(cases, started_at=started, commit="abc", branch="main"))

    body = response.json()
    run = Run.objects.get()
    assert response.status_code == 200
    assert (body["accepted"], body["rejected"], body["errors"]) == (4, 0, [])
    assert body["created"] is True
    assert body["id"] == run.pk
    assert body["totals"] == {"tests": 4, "passed": 1, "failed": 1, "error": 1, "skipped": 1}
    assert body["success_rate"] == pytest.approx(100 / 3)  # skipped tests excluded
    assert (run.suite, run.run_id, run.commit, run.branch) == ("shop", "r1", "abc", "main")
    assert run.started_at.timestamp() == pytest.approx(started, abs=1e-3)
    assert run.duration_s == pytest.approx(0.4)  # the sum of the cases' durations
    assert CaseResult.objects.get(name="test_b").message == "assert 1 == 2"


def test_query_string_fields_fill_in_what_the_body_leaves_out(ingest):
    body = {"cases": [case("test_a")]}

    response = post_json(ingest, body, "?suite=shop&run_id=42&commit=abc&branch=main")

    run = Run.objects.get()
    assert response.status_code == 200
    assert (run.suite, run.run_id, run.commit, run.branch) == ("shop", "42", "abc", "main")


def test_the_query_string_and_the_body_must_agree(ingest):
    response = post_json(ingest, run_body([case("test_a")]), "?suite=shop&run_id=other")

    error = response.json()["error"]
    assert response.status_code == 400
    assert list(error["details"]) == ["run_id"]
    assert not Run.objects.exists()


def test_the_same_run_sent_again_changes_nothing_and_answers_the_stored_run(ingest):
    first = post_json(ingest, run_body([case("test_a"), case("test_b", "failed")]))

    again = post_json(ingest, run_body([case("test_a")], commit="changed"))

    assert (first.status_code, again.status_code) == (200, 200)
    assert first.json()["created"] is True
    assert again.json()["created"] is False
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["totals"] == first.json()["totals"]
    assert Run.objects.get().commit == ""
    assert CaseResult.objects.count() == 2


def test_without_a_run_id_one_is_made_from_the_report_so_a_resend_is_still_stored_once(ingest):
    body = {"suite": "shop", "cases": [case("test_a")]}

    first = post_json(ingest, body).json()
    again = post_json(ingest, body).json()
    other = post_json(ingest, body, "?commit=abc").json()

    assert first["run_id_generated"] is True
    assert first["run_id"].startswith("auto-")
    assert again["run_id"] == first["run_id"] and again["created"] is False
    assert other["run_id"] != first["run_id"]
    assert Run.objects.count() == 2


def test_a_test_reported_twice_counts_once_with_its_worse_outcome(ingest):
    cases = [case("test_a", duration=0.1), case("test_a", "failed", duration=0.2)]

    body = post_json(ingest, run_body(cases)).json()

    stored = CaseResult.objects.get()
    assert body["totals"]["tests"] == 1
    assert (stored.outcome, stored.duration_s) == ("failed", pytest.approx(0.3))


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"run_id": "1", "cases": []}, ["suite"]),
        ({"suite": "shop", "run_id": "1"}, ["cases"]),
        ({"suite": "shop", "cases": "all"}, ["cases"]),
        (run_body([case("t")], suite=7), ["suite"]),
        (run_body([case("t")], commit="c" * 101), ["commit"]),
        (run_body([case("t")], started_at="yesterday"), ["started_at"]),
        (run_body([case("t")], started_at=time.time() - 90 * 86400), ["started_at"]),
        ([1, 2], ["body"]),
    ],
    ids=[
        "no-suite",
        "no-cases",
        "cases-not-a-list",
        "suite-not-text",
        "commit-too-long",
        "started-at-not-a-time",
        "started-at-too-old",
        "not-an-object",
    ],
)
def test_a_bad_run_is_a_400_naming_each_bad_field_and_stores_nothing(ingest, body, named):
    response = post_json(ingest, body)

    error = response.json()["error"]
    assert response.status_code == 400
    assert sorted(error["details"]) == named
    assert all(name in error["message"] for name in named)
    assert not Run.objects.exists()


def test_a_bad_case_is_rejected_with_its_index_and_the_others_are_stored(ingest):
    cases = [case("t"), "x", case("u", "bogus"), case("v", "failed")]

    response = post_json(ingest, run_body(cases))

    body = response.json()
    assert response.status_code == 200
    assert (body["accepted"], body["rejected"]) == (2, 2)
    assert [error["index"] for error in body["errors"]] == [1, 2]
    assert "outcome" in body["errors"][1]["message"]
    assert body["totals"] == {"tests": 2, "passed": 1, "failed": 1, "error": 0, "skipped": 0}
    assert sorted(CaseResult.objects.values_list("name", flat=True)) == ["t", "v"]


@pytest.mark.parametrize(
    ("raw_case", "named"),
    [
        ({"module": "m", "outcome": "passed"}, "name"),
        (case("t", "bogus"), "outcome"),
        (case("t", duration=-1), "duration"),
        (case("t", duration="fast"), "duration"),
        ("x", "object"),
    ],
    ids=["no-name", "unknown-outcome", "negative-duration", "duration-not-a-number", "not-object"],
)
def test_a_run_whose_only_case_is_bad_is_a_400_in_the_batch_shape_and_stores_nothing(
    ingest, raw_case, named
):
    response = post_json(ingest, run_body([raw_case]))

    body = response.json()
    assert response.status_code == 400
    assert (body["accepted"], body["rejected"]) == (0, 1)
    assert body["errors"][0]["index"] == 0 and named in body["errors"][0]["message"]
    assert not Run.objects.exists()


def test_a_bad_run_level_field_names_the_bad_cases_too(ingest):
    response = post_json(ingest, run_body([case("t"), case("u", "bogus")], suite=7))

    assert response.status_code == 400
    assert sorted(response.json()["error"]["details"]) == ["cases[1]", "suite"]


def test_a_run_of_more_cases_than_the_limit_is_refused(ingest, monkeypatch):
    monkeypatch.setattr("apps.ingest.testruns.MAX_CASES_PER_RUN", 3)

    response = post_json(ingest, run_body([case(f"t{i}") for i in range(4)]))

    assert response.status_code == 400
    assert list(response.json()["error"]["details"]) == ["cases"]


def test_malformed_json_is_a_400_in_the_error_envelope(ingest):
    response = ingest.post("/api/v1/ingest/test-runs", "{", content_type="application/json")

    assert response.status_code == 400
    assert set(response.json()["error"]) == {"code", "message", "details"}


def test_an_empty_run_is_a_400_in_the_batch_shape_and_stores_nothing(ingest):
    response = post_json(ingest, run_body([]))

    assert response.status_code == 400
    assert response.json() == {"accepted": 0, "rejected": 0, "errors": []}
    assert not Run.objects.exists()


def test_a_run_of_skipped_tests_only_is_stored_without_a_success_rate(ingest):
    body = post_json(ingest, run_body([case("t", "skipped")])).json()

    assert body["totals"]["tests"] == 1
    assert body["success_rate"] is None


def test_ingest_needs_a_key_with_the_ingest_scope(make_key, client):
    reader = key_client(make_key("read", "write"))

    assert post_json(client, run_body([case("t")])).status_code == 401
    assert post_json(reader, run_body([case("t")])).status_code == 403
    assert not Run.objects.exists()


def test_only_json_and_xml_are_accepted(ingest):
    response = post_xml(ingest, "suite,test\nshop,t", "?suite=shop", content_type="text/csv")

    assert response.status_code == 415
    assert not Run.objects.exists()


def test_a_run_is_stored_when_redis_is_unreachable_and_left_to_the_periodic_evaluation(
    ingest, settings
):
    from apps.core.redis import redis_client

    RuleFactory(kind="test_success_rate", params={})  # a stored run would hand over to it
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    redis_client.cache_clear()
    try:
        response = post_json(ingest, run_body([case("t")]))
    finally:
        redis_client.cache_clear()

    assert response.status_code == 200
    assert Run.objects.count() == 1


def test_a_run_costs_the_same_queries_whatever_its_size(ingest):
    post_json(ingest, run_body([case("warm-up")], suite="warm"))  # caches the key

    def queries(suite: str, size: int) -> int:
        cases = [case(f"test_{i}", duration=0.2) for i in range(size)]
        post_json(ingest, run_body(cases, suite=suite, run_id="1", commit="c"))
        with CaptureQueriesContext(connection) as captured:
            response = post_json(ingest, run_body(cases, suite=suite, run_id="2", commit="c"))
        assert response.status_code == 200
        return len(captured)

    assert queries("small", 5) == queries("large", 500)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
_CASE_FIELDS = st.dictionaries(
    st.sampled_from(["name", "module", "outcome", "duration", "message"]), _JSON
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(cases=st.lists(_CASE_FIELDS, max_size=4), started_at=_JSON)
def test_arbitrary_cases_never_cause_a_server_error(ingest, cases, started_at):
    body = run_body(cases, run_id=None, started_at=started_at)

    response = post_json(ingest, body)

    assert response.status_code < 500
