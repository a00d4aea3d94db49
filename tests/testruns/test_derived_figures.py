"""What is derived from a run when it is stored: rates, slowest, newly slower and flaky tests."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.testruns.models import Run
from tests.testruns.support import MODULE, store_run, store_runs

pytestmark = pytest.mark.django_db


def _slower(stored) -> dict[str, dict]:
    return {entry["name"]: entry for entry in Run.objects.get(pk=stored.run.pk).slower}


def _flaky(stored) -> list[str]:
    return [entry["name"] for entry in Run.objects.get(pk=stored.run.pk).flaky]


def test_the_success_rate_leaves_skipped_tests_out():
    stored = store_run(
        "1",
        [("a", "passed", 0.1), ("b", "passed", 0.1), ("c", "failed", 0.1), ("d", "skipped", 0)]
        + [("e", "error", 0.1)],
    )

    assert stored.run.success_rate == pytest.approx(50.0)
    assert (stored.run.tests, stored.run.skipped) == (5, 1)


def test_module_rates_count_each_module_apart():
    cases = [("a", "passed", 0.1), ("b", "passed", 0.1), ("c", "failed", 0.1)]
    store_run("1", cases, module="tests.test_cart")
    stored = store_run("2", [("d", "skipped", 0.0)], module="tests.test_docs")

    run = store_run("3", [*cases, ("z", "skipped", None)], module="tests.test_cart").run

    assert stored.run.modules == [
        {
            "module": "tests.test_docs",
            "tests": 1,
            "passed": 0,
            "failed": 0,
            "error": 0,
            "skipped": 1,
            "success_rate": None,
        }
    ]
    assert run.modules[0]["module"] == "tests.test_cart"
    assert run.modules[0]["success_rate"] == pytest.approx(200 / 3)
    assert run.modules[0]["tests"] == 4


def test_the_slowest_tests_are_listed_longest_first():
    cases = [(f"t{i}", "passed", i / 100) for i in range(15)] + [("untimed", "passed", None)]

    run = store_run("1", cases).run

    assert [entry["name"] for entry in run.slowest] == [f"t{i}" for i in range(14, 4, -1)]
    assert run.slowest[0] == {
        "test": f"{MODULE}::t14",
        "module": MODULE,
        "name": "t14",
        "duration_s": 0.14,
        "outcome": "passed",
    }


def test_a_test_slower_than_one_and_a_half_times_its_last_five_runs_is_newly_slower():
    history = [{"test_search": s, "test_steady": 0.1} for s in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6)]
    *_, latest = store_runs([*history, {"test_search": 0.61, "test_steady": 0.14}])

    slower = _slower(latest)

    # Baseline: the last five earlier runs, (0.2 + 0.3 + 0.4 + 0.5 + 0.6) / 5 = 0.4 s.
    assert list(slower) == ["test_search"]  # test_steady: 0.14 s is under 1.5 × 0.1 s
    assert slower["test_search"]["baseline_s"] == pytest.approx(0.4)
    assert slower["test_search"]["baseline_runs"] == 5
    assert slower["test_search"]["ratio"] == pytest.approx(1.525)
    assert slower["test_search"]["test"] == f"{MODULE}::test_search"


def test_exactly_one_and_a_half_times_the_baseline_is_not_slower():
    *_, latest = store_runs([{"test_a": 0.2}, {"test_a": 0.4}, {"test_a": 0.45}])

    assert _slower(latest) == {}  # baseline (0.2 + 0.4) / 2 = 0.3 s; 0.45 s is not above 1.5 ×


def test_with_fewer_than_five_earlier_runs_the_baseline_is_what_exists():
    *_, latest = store_runs([{"test_new": 0.1}, {"test_new": 0.2}, {"test_new": 0.3}])

    slower = _slower(latest)

    assert slower["test_new"]["baseline_s"] == pytest.approx(0.15)
    assert slower["test_new"]["baseline_runs"] == 2


def test_a_test_with_no_earlier_run_has_no_baseline_and_is_never_slower():
    *_, latest = store_runs([{"test_old": 0.1}, {"test_old": 0.1, "test_brand_new": 5.0}])

    assert _slower(latest) == {}


def test_tests_under_fifty_milliseconds_are_never_slower():
    *_, latest = store_runs([{"test_tiny": 0.001}, {"test_tiny": 0.049, "test_edge": 0.1}])

    assert "test_tiny" not in _slower(latest)


def test_skipped_runs_of_a_test_are_left_out_of_its_baseline():
    start = timezone.now() - timedelta(minutes=5)
    store_run("1", [("test_a", "passed", 0.2)], at=start)
    store_run("2", [("test_a", "skipped", 0.0)], at=start + timedelta(minutes=1))

    latest = store_run("3", [("test_a", "passed", 0.35)], at=start + timedelta(minutes=2))

    assert _slower(latest)["test_a"]["baseline_s"] == pytest.approx(0.2)
    assert _slower(latest)["test_a"]["baseline_runs"] == 1


def test_a_run_is_compared_with_the_runs_that_started_before_it_in_its_own_suite():
    now = timezone.now()
    store_run("later", [("test_a", "passed", 0.1)], at=now)
    store_run("other-suite", [("test_a", "passed", 0.1)], suite="web", at=now - timedelta(hours=2))

    earlier = store_run("earlier", [("test_a", "passed", 0.5)], at=now - timedelta(hours=1))

    assert _slower(earlier) == {}


def test_a_pass_and_a_failure_at_one_commit_make_a_test_flaky():
    store_run("1", [("test_a", "passed", 0.1), ("test_b", "passed", 0.1)], commit="c1")

    second = store_run("2", [("test_a", "failed", 0.1), ("test_b", "passed", 0.1)], commit="c1")

    assert Run.objects.get(pk=second.run.pk).flaky == [
        {
            "test": f"{MODULE}::test_a",
            "module": MODULE,
            "name": "test_a",
            "commit": "c1",
            "passed": 1,
            "failed": 1,
        }
    ]


def test_an_error_counts_as_a_failure_for_flakiness_and_order_does_not_matter():
    store_run("1", [("test_a", "error", 0.1)], commit="c1")
    store_run("2", [("test_a", "passed", 0.1)], commit="c2")

    third = store_run("3", [("test_a", "passed", 0.1)], commit="c1")

    assert _flaky(third) == ["test_a"]


def test_a_failure_after_a_code_change_is_not_flaky():
    store_run("1", [("test_a", "passed", 0.1)], commit="c1")

    second = store_run("2", [("test_a", "failed", 0.1)], commit="c2")

    assert _flaky(second) == []


def test_runs_without_a_commit_are_never_judged_flaky():
    store_run("1", [("test_a", "passed", 0.1)])

    second = store_run("2", [("test_a", "failed", 0.1)])

    assert _flaky(second) == []


def test_a_flaky_test_is_listed_while_its_runs_are_among_the_last_ten():
    start = timezone.now() - timedelta(hours=1)
    commits = ["c1", "c1"] + [f"c{i}" for i in range(2, 11)]
    outcomes = ["passed", "failed"] + ["passed"] * 9
    stored = [
        store_run(
            str(i), [("test_a", outcome, 0.1)], commit=commit, at=start + timedelta(minutes=i)
        )
        for i, (commit, outcome) in enumerate(zip(commits, outcomes, strict=True))
    ]

    assert _flaky(stored[9]) == ["test_a"]  # runs 0-9: both c1 runs
    assert _flaky(stored[10]) == []  # runs 1-10: one c1 run left
