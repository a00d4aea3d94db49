"""Reads for the test-runs page: each suite's latest run with the figures derived at ingest
(newly slower tests, flaky tests, module rates), recent runs, and one run with its failures."""

from dataclasses import dataclass
from typing import Any

from apps.testruns import selectors
from apps.testruns.models import CaseResult, Run

RECENT_RUNS = 30
LISTED = 50  # rows of each figure table on the page


@dataclass(frozen=True, slots=True)
class SuiteFigures:
    latest: list[Run]  # the latest run of each suite, by suite
    slower: list[dict[str, Any]]  # each with "suite" and "run" added
    flaky: list[dict[str, Any]]
    modules: list[dict[str, Any]]  # worst success rate first


def suite_names() -> list[str]:
    """Return every suite that has a run, by name."""
    return [run.suite for run in selectors.run_latest_list()]


def suite_figures(*, suite: str | None) -> SuiteFigures:
    """Return the latest run of each suite (or the one given) and what was derived from it."""
    latest = selectors.run_latest_list(suite=suite)
    modules = _from_runs(latest, "modules")
    modules.sort(key=lambda row: (row["success_rate"] is None, row["success_rate"] or 0))
    slower = _from_runs(latest, "slower")
    slower.sort(key=lambda row: -(row["ratio"] or 0))
    return SuiteFigures(
        latest=latest,
        slower=slower[:LISTED],
        flaky=_from_runs(latest, "flaky")[:LISTED],
        modules=modules[:LISTED],
    )


def recent_runs(*, suite: str | None, limit: int = RECENT_RUNS) -> list[Run]:
    """Return the newest runs (of one suite or all), without the figures' JSON."""
    runs = selectors.run_list(suite=suite).defer("modules", "slowest", "slower", "flaky")
    return list(runs[:limit])


def run_detail(*, pk: int) -> tuple[Run, list[CaseResult]] | None:
    """Return a run and its failed and errored cases, or None for an unknown id."""
    run = selectors.run_get(pk=pk)
    if run is None:
        return None
    return run, list(selectors.case_failure_list(run=run))


def _from_runs(runs: list[Run], field: str) -> list[dict[str, Any]]:
    return [
        {**row, "suite": run.suite, "run": run.pk} for run in runs for row in getattr(run, field)
    ]
