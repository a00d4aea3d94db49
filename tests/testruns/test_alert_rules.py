"""The four test-run rule kinds, evaluated by the alert engine on each suite's latest run."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.alerts import engine
from apps.alerts.constants import AlertState
from apps.alerts.evaluators.base import RuleParamsError
from apps.alerts.evaluators.registry import evaluator_for
from apps.alerts.models import Alert
from apps.core.constants import Severity
from tests.alerts.factories import RuleFactory
from tests.testruns.support import case, post_json, run_body, store_run, store_runs

pytestmark = pytest.mark.django_db


def _evaluate() -> None:
    engine.rules_evaluate(now=timezone.now())


def _rule(kind: str, **params):
    return RuleFactory(kind=kind, params=params, summary_template="{{ rule }}: {{ value }}")


def _rated(run_id: str, passed: int, failed: int, *, suite: str = "shop", minutes: int = 0):
    """Store a run with `passed` passing and `failed` failing tests."""
    cases = [(f"ok{i}", "passed", 0.01) for i in range(passed)]
    cases += [(f"bad{i}", "failed", 0.01) for i in range(failed)]
    at = timezone.now() - timedelta(minutes=60 - minutes)
    return store_run(run_id, cases, suite=suite, at=at)


@pytest.mark.parametrize(
    ("passed", "failed", "severity"),
    [(79, 21, Severity.CRITICAL), (89, 11, Severity.HIGH), (94, 6, Severity.MEDIUM)],
    ids=["under-80-critical", "under-90-high", "under-95-medium"],
)
def test_a_low_success_rate_is_graded_by_the_thresholds(passed, failed, severity):
    _rule("test_success_rate")
    _rated("1", passed, failed)

    _evaluate()

    alert = Alert.objects.get()
    assert alert.severity == severity
    assert alert.value == pytest.approx(passed)
    assert alert.labels["suite"] == "shop"
    assert alert.details["failed"] == failed
    assert alert.state == AlertState.FIRING


def test_a_success_rate_of_95_or_more_raises_nothing():
    _rule("test_success_rate")
    _rated("1", 95, 5)

    _evaluate()

    assert not Alert.objects.exists()


def test_the_success_rate_alert_resolves_when_the_latest_run_is_healthy():
    _rule("test_success_rate")
    _rated("1", 5, 5, minutes=1)
    _evaluate()

    _rated("2", 10, 0, minutes=2)
    _evaluate()

    assert list(Alert.objects.values_list("state", flat=True)) == [AlertState.RESOLVED]


def test_success_rate_thresholds_are_params_and_a_suite_can_be_chosen():
    _rule("test_success_rate", suite="shop", critical=50, high=60, medium=70)
    _rated("1", 65, 35)
    _rated("1", 10, 90, suite="web")

    _evaluate()

    alert = Alert.objects.get()
    assert (alert.labels["suite"], alert.severity) == ("shop", Severity.MEDIUM)


def test_success_rate_thresholds_must_rise_from_critical_to_medium():
    with pytest.raises(RuleParamsError) as raised:
        evaluator_for("test_success_rate").validate({"critical": 95, "high": 90, "medium": 80})

    assert list(raised.value.errors) == ["critical"]


def test_each_module_of_three_or_more_tests_is_graded_on_its_own():
    _rule("module_success_rate")
    store_run("1", [("a", "passed", 0.1), ("b", "failed", 0.1), ("c", "failed", 0.1)], module="m1")
    store_run("2", [("a", "failed", 0.1), ("b", "failed", 0.1)], module="m2", suite="web")
    store_run("3", [("a", "passed", 0.1), ("b", "passed", 0.1), ("c", "error", 0.1)], suite="api")

    _evaluate()

    alerts = {a.labels["suite"]: a for a in Alert.objects.all()}
    assert set(alerts) == {"shop", "api"}  # web's module has only two tests
    assert (alerts["shop"].labels["module"], alerts["shop"].severity) == ("m1", Severity.HIGH)
    assert alerts["api"].severity == Severity.MEDIUM  # 66.7 %: under 70
    assert alerts["shop"].value == pytest.approx(100 / 3)


def test_a_degraded_test_fires_an_alert_that_lists_it_with_its_baseline():
    rule = _rule("test_perf_degradation")
    rule.summary_template = "slower: {{ details.list }}"
    rule.save()
    store_runs(
        [{"test_search": 0.2, "test_cart": 0.1}] * 5 + [{"test_search": 0.5, "test_cart": 0.1}]
    )

    _evaluate()

    alert = Alert.objects.get()
    assert alert.value == 1
    assert alert.labels["suite"] == "shop"
    assert [t["name"] for t in alert.details["tests"]] == ["test_search"]
    assert alert.details["tests"][0]["baseline_s"] == pytest.approx(0.2)
    assert alert.summary == "slower: tests.test_shop::test_search: 0.500 s, was 0.200 s (2.5×)"


def test_the_degradation_alert_resolves_when_the_next_run_is_back_to_normal():
    _rule("test_perf_degradation")
    store_runs([{"test_search": 0.2}] * 3 + [{"test_search": 0.5}])
    _evaluate()

    store_run("next", [("test_search", "passed", 0.2)])
    _evaluate()

    assert list(Alert.objects.values_list("state", flat=True)) == [AlertState.RESOLVED]


def test_the_baseline_runs_factor_and_minimum_duration_are_params():
    timings = [{"test_a": 0.1}] * 3 + [{"test_a": 0.3}, {"test_a": 0.4}]
    store_runs(timings)
    _rule("test_perf_degradation", baseline_runs=1)  # baseline 0.3 s: 0.4 s is not 1.5 ×
    _rule("test_perf_degradation", baseline_runs=4)  # baseline 0.15 s
    _rule("test_perf_degradation", factor=3)  # 0.4 s is not 3 × 0.15 s
    _rule("test_perf_degradation", min_duration_ms=500)  # 0.4 s is too short to judge

    _evaluate()

    assert [a.rule.params.get("baseline_runs") for a in Alert.objects.all()] == [4]


def test_a_test_with_no_history_raises_no_degradation_alert():
    _rule("test_perf_degradation")
    store_runs([{"test_old": 0.1}, {"test_old": 0.1, "test_new": 9.0}])

    _evaluate()

    assert not Alert.objects.exists()


def test_degradation_params_are_checked():
    with pytest.raises(RuleParamsError) as raised:
        evaluator_for("test_perf_degradation").validate({"factor": 0.5, "baseline_runs": 2.5})

    assert set(raised.value.errors) == {"factor", "baseline_runs"}


def test_each_flaky_test_is_one_low_alert_however_often_it_is_seen():
    _rule("flaky_test")
    flips = [("test_a", "passed", 0.1), ("test_b", "failed", 0.1), ("test_c", "passed", 0.1)]
    store_run("1", flips, commit="c1")
    store_run("2", [("test_a", "failed", 0.1), ("test_b", "passed", 0.1)], commit="c1")
    _evaluate()

    store_run("3", [("test_a", "error", 0.1), ("test_b", "passed", 0.1)], commit="c1")
    _evaluate()

    alerts = Alert.objects.order_by("labels__test")
    assert [a.labels["test"] for a in alerts] == [
        "tests.test_shop::test_a",
        "tests.test_shop::test_b",
    ]
    assert {a.severity for a in alerts} == {Severity.LOW}
    assert [a.value for a in alerts] == [2, 1]  # failures at commit c1
    assert {a.state for a in alerts} == {AlertState.FIRING}
    assert len({a.fingerprint for a in alerts}) == 2


def test_a_stored_run_queues_an_evaluation_of_each_test_run_rule_kind(
    ingest, django_capture_on_commit_callbacks
):
    for kind in ("test_success_rate", "test_perf_degradation", "module_success_rate", "flaky_test"):
        _rule(kind)
    RuleFactory()  # a metric rule: not queued

    with django_capture_on_commit_callbacks() as queued:
        post_json(ingest, run_body([case("test_a")]))
    with django_capture_on_commit_callbacks() as again:
        post_json(ingest, run_body([case("test_a")]))  # already stored: nothing to evaluate

    assert len(queued) == 4
    assert again == []


def test_a_failing_run_posted_to_ingest_fires_the_success_rate_rule(ingest):
    _rule("test_success_rate")
    cases = [case("test_a"), case("test_b", "failed")]

    post_json(ingest, run_body(cases))
    _evaluate()

    alert = Alert.objects.get()
    assert (alert.value, alert.severity) == (50.0, Severity.CRITICAL)
