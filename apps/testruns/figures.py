"""The figures derived from test results, as pure functions of what the selectors load.

A test is known by its module (the JUnit classname) and name. Skipped results count for
nothing: not in success rates, not in timing baselines, not in flaky detection.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from apps.testruns.constants import FAILING, MAX_LISTED, SLOWEST_COUNT, Outcome


class Case(NamedTuple):
    module: str
    name: str
    outcome: str
    duration_s: float | None


class Totals(NamedTuple):
    tests: int
    passed: int
    failed: int
    error: int
    skipped: int

    @property
    def success_rate(self) -> float | None:
        return success_rate(self.passed, self.failed, self.error)


def label_of(module: str, name: str) -> str:
    """Return how a test is named in labels and lists: `module::name` (or the name alone)."""
    return f"{module}::{name}" if module else name


def success_rate(passed: int, failed: int, error: int) -> float | None:
    """Return passed / (passed + failed + error) in percent; None when no test ran."""
    ran = passed + failed + error
    return 100.0 * passed / ran if ran else None


def totals(cases: Iterable[Case]) -> Totals:
    """Return how many tests there are and how many of each outcome."""
    counts = dict.fromkeys(Outcome.values, 0)
    for case in cases:
        counts[case.outcome] += 1
    return Totals(sum(counts.values()), *(counts[outcome] for outcome in Outcome.values))


def module_rates(cases: Iterable[Case]) -> list[dict[str, Any]]:
    """Return each module's totals and success rate, by module name."""
    by_module: dict[str, list[Case]] = defaultdict(list)
    for case in cases:
        by_module[case.module].append(case)
    return [
        {"module": module, **_totals_json(totals(found))}
        for module, found in sorted(by_module.items())
    ]


def _totals_json(counted: Totals) -> dict[str, Any]:
    return {**counted._asdict(), "success_rate": counted.success_rate}


def slowest(cases: Iterable[Case], count: int = SLOWEST_COUNT) -> list[dict[str, Any]]:
    """Return the `count` longest-running timed tests, longest first."""
    timed = sorted(
        (case for case in cases if case.duration_s is not None),
        key=lambda case: (-(case.duration_s or 0.0), case.module, case.name),
    )
    return [
        {**_named(case), "duration_s": case.duration_s, "outcome": case.outcome}
        for case in timed[:count]
    ]


def _named(case: Case) -> dict[str, str]:
    return {"test": label_of(case.module, case.name), "module": case.module, "name": case.name}


# --- newly slower tests ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Slowdown:
    factor: float
    min_duration_s: float


def slower_tests(
    current: Iterable[Case], history: Mapping[tuple[str, str], Sequence[float]], rule: Slowdown
) -> list[dict[str, Any]]:
    """Return the tests slower than `factor` × the mean of their earlier durations (`history`,
    one per earlier run that timed the test); tests without history or under the minimum are
    left out. Biggest ratio first."""
    found = []
    for case in current:
        earlier = history.get((case.module, case.name))
        duration = case.duration_s
        if not earlier or duration is None or duration < rule.min_duration_s:
            continue
        baseline = sum(earlier) / len(earlier)
        if duration > rule.factor * baseline:
            found.append(_slower(case, duration, baseline, len(earlier)))
    found.sort(key=lambda entry: (-(entry["ratio"] or float("inf")), entry["test"]))
    return found[:MAX_LISTED]


def _slower(case: Case, duration: float, baseline: float, runs: int) -> dict[str, Any]:
    return {
        **_named(case),
        "duration_s": duration,
        "baseline_s": baseline,
        "baseline_runs": runs,
        # None when the baseline is 0 s (the test used to take no measurable time).
        "ratio": round(duration / baseline, 3) if baseline > 0 else None,
    }


# --- flaky tests -----------------------------------------------------------------------------


class RunRef(NamedTuple):
    pk: int
    suite: str
    run_id: str
    commit: str


def flaky_tests(
    window: Sequence[RunRef], outcomes: Mapping[int, Mapping[tuple[str, str], str]]
) -> list[dict[str, Any]]:
    """Return the tests that both passed and failed at one commit within the window of runs
    (newest first); runs without a commit are left out, since the code may have changed."""
    by_commit: dict[str, list[int]] = defaultdict(list)
    for run in window:
        if run.commit:
            by_commit[run.commit].append(run.pk)
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for commit, run_pks in by_commit.items():  # newest commit first: it names the test
        for key, counts in _outcome_counts(run_pks, outcomes).items():
            if counts["passed"] and counts["failed"] and key not in found:
                found[key] = {**_named(Case(*key, "", None)), "commit": commit, **counts}
    return [found[key] for key in sorted(found)][:MAX_LISTED]


def _outcome_counts(
    run_pks: Sequence[int], outcomes: Mapping[int, Mapping[tuple[str, str], str]]
) -> dict[tuple[str, str], dict[str, int]]:
    counts: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: {"passed": 0, "failed": 0})
    for pk in run_pks:
        for key, outcome in outcomes.get(pk, {}).items():
            counts[key]["failed" if outcome in FAILING else "passed"] += 1
    return counts
