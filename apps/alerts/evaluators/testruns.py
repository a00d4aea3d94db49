"""Test-run rule kinds: the latest run of each suite (or of the one named) judged on its success
rate, its modules' success rates, its newly slower tests and its flaky tests.

Success rates are graded: the alert's severity is that of the lowest threshold the rate is
under (thresholds in percent, editable as params).
"""

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from apps.alerts.evaluators.base import Observation, checked, number, text
from apps.core.constants import SEVERITY_BY_NAME, Severity
from apps.testruns.constants import (
    BASELINE_RUNS,
    MAX_BASELINE_RUNS,
    MIN_DURATION_MS,
    SLOWER_FACTOR,
)
from apps.testruns.figures import Slowdown
from apps.testruns.selectors import run_latest_list, slower_list, suite_windows

if TYPE_CHECKING:
    from apps.testruns.models import Run

# Most severe first: a rate under a threshold has that severity.
SUITE_GRADES = {"critical": 80.0, "high": 90.0, "medium": 95.0}
MODULE_GRADES = {"high": 50.0, "medium": 70.0}
MODULE_MIN_TESTS = 3
LISTED_TESTS = 50


def _grades(
    params: Mapping[str, Any], errors: dict[str, str], defaults: dict[str, float]
) -> dict[str, float]:
    grades = {
        name: number(params, name, errors, default=default, minimum=0, maximum=100)
        for name, default in defaults.items()
    }
    values = list(grades.values())
    if not errors and values != sorted(values):
        errors[next(iter(grades))] = f"thresholds must rise in the order {', '.join(grades)}"
    return grades


def _grade(rate: float | None, params: Mapping[str, Any], names: Mapping[str, float]) -> int | None:
    """Return the severity of the most severe threshold the rate is under (None: none)."""
    if rate is None:
        return None
    for name in names:
        if rate < params[name]:
            return SEVERITY_BY_NAME[name]
    return None


def _totals(run: "Run") -> dict[str, Any]:
    return {
        "run_id": run.run_id,
        "commit": run.commit,
        "branch": run.branch,
        "tests": run.tests,
        "passed": run.passed,
        "failed": run.failed,
        "error": run.error,
        "skipped": run.skipped,
    }


class SuiteSuccessRate:
    kind = "test_success_rate"
    engine_timing = False

    def validate(self, params: Mapping[str, Any]) -> dict[str, Any]:
        errors: dict[str, str] = {}
        cleaned = {
            "suite": text(params, "suite", errors, required=False),
            **_grades(params, errors, SUITE_GRADES),
        }
        return checked(cleaned, errors)

    def evaluate(self, params: Mapping[str, Any], *, now: datetime) -> list[Observation]:
        observations = []
        for run in run_latest_list(suite=params["suite"] or None):
            severity = _grade(run.success_rate, params, SUITE_GRADES)
            labels = {"suite": run.suite}
            details = _totals(run)
            observations.append(
                Observation(labels, run.success_rate, severity is not None, details, severity)
            )
        return observations

    def metric(self, params: Mapping[str, Any]) -> str | None:
        return None


class ModuleSuccessRate:
    kind = "module_success_rate"
    engine_timing = False

    def validate(self, params: Mapping[str, Any]) -> dict[str, Any]:
        errors: dict[str, str] = {}
        cleaned = {
            "suite": text(params, "suite", errors, required=False),
            **_grades(params, errors, MODULE_GRADES),
            "min_tests": number(
                params, "min_tests", errors, default=MODULE_MIN_TESTS, minimum=1, maximum=100_000
            ),
        }
        return checked(cleaned, errors)

    def evaluate(self, params: Mapping[str, Any], *, now: datetime) -> list[Observation]:
        return [
            self._observe(run, module, params)
            for run in run_latest_list(suite=params["suite"] or None)
            for module in run.modules
            if module["passed"] + module["failed"] + module["error"] >= params["min_tests"]
        ]

    def _observe(self, run: "Run", module: dict, params: Mapping[str, Any]) -> Observation:
        rate = module["success_rate"]
        severity = _grade(rate, params, MODULE_GRADES)
        labels = {"suite": run.suite, "module": module["module"]}
        details = {**module, "run_id": run.run_id, "commit": run.commit}
        return Observation(labels, rate, severity is not None, details, severity)

    def metric(self, params: Mapping[str, Any]) -> str | None:
        return None


class PerfDegradation:
    kind = "test_perf_degradation"
    engine_timing = False

    def validate(self, params: Mapping[str, Any]) -> dict[str, Any]:
        errors: dict[str, str] = {}
        cleaned = {
            "suite": text(params, "suite", errors, required=False),
            "factor": number(
                params, "factor", errors, default=SLOWER_FACTOR, minimum=1, maximum=1000
            ),
            "baseline_runs": _whole(params, "baseline_runs", errors, BASELINE_RUNS),
            "min_duration_ms": number(
                params, "min_duration_ms", errors, default=MIN_DURATION_MS, minimum=0, maximum=1e7
            ),
        }
        return checked(cleaned, errors)

    def evaluate(self, params: Mapping[str, Any], *, now: datetime) -> list[Observation]:
        windows = suite_windows(
            suite=params["suite"] or None, depth=int(params["baseline_runs"]) + 1
        )
        rule = Slowdown(params["factor"], params["min_duration_ms"] / 1000)
        slower = slower_list(chains={w[0].pk: [r.pk for r in w[1:]] for w in windows}, rule=rule)
        observations = []
        for window in windows:
            latest, tests = window[0], slower[window[0].pk]
            details = {
                "run_id": latest.run_id,
                "commit": latest.commit,
                "tests": tests[:LISTED_TESTS],
                "list": "; ".join(_described(test) for test in tests[:LISTED_TESTS]),
            }
            observations.append(
                Observation({"suite": latest.suite}, float(len(tests)), bool(tests), details)
            )
        return observations

    def metric(self, params: Mapping[str, Any]) -> str | None:
        return None


def _whole(params: Mapping[str, Any], key: str, errors: dict[str, str], default: int) -> int:
    runs = number(params, key, errors, default=default, minimum=1, maximum=MAX_BASELINE_RUNS)
    if key not in errors and not runs.is_integer():
        errors[key] = "a whole number of runs"
    return int(runs)


def _described(test: Mapping[str, Any]) -> str:
    ratio = f" ({test['ratio']:g}×)" if test["ratio"] is not None else ""
    return f"{test['test']}: {test['duration_s']:.3f} s, was {test['baseline_s']:.3f} s{ratio}"


class FlakyTest:
    kind = "flaky_test"
    engine_timing = False

    def validate(self, params: Mapping[str, Any]) -> dict[str, Any]:
        errors: dict[str, str] = {}
        return checked({"suite": text(params, "suite", errors, required=False)}, errors)

    def evaluate(self, params: Mapping[str, Any], *, now: datetime) -> list[Observation]:
        return [
            Observation(
                {"suite": run.suite, "test": test["test"]},
                float(test["failed"]),
                True,
                {**test, "run_id": run.run_id},
                Severity.LOW,
            )
            for run in run_latest_list(suite=params["suite"] or None)
            for test in run.flaky
        ]

    def metric(self, params: Mapping[str, Any]) -> str | None:
        return None
