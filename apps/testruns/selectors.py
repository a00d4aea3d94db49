"""Test-run reads: runs as the API lists them, each suite's latest runs, and the history that
slowdowns and flaky tests are judged against. Each read is a fixed number of queries."""

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from django.db.models import F, Q, QuerySet, Window
from django.db.models.functions import RowNumber

from apps.testruns.constants import FAILING, MAX_LISTED, MAX_SUITES, Outcome
from apps.testruns.figures import Case, RunRef, Slowdown, flaky_tests, slower_tests
from apps.testruns.models import CaseResult, Run

NEWEST_FIRST = ("-started_at", "-pk")
_REF_FIELDS = ("pk", "suite", "run_id", "commit")


def run_list(*, suite: str | None = None) -> QuerySet[Run]:
    """Return the runs (of one suite, or all), newest first."""
    runs = Run.objects.all()
    if suite:
        runs = runs.filter(suite=suite)
    return runs.order_by(*NEWEST_FIRST)


def run_get(*, pk: int) -> Run | None:
    """Return the run with this id, if any."""
    return Run.objects.filter(pk=pk).first()


def run_find(*, suite: str, run_id: str) -> Run | None:
    """Return the run a suite stored under `run_id`, if any."""
    return Run.objects.filter(suite=suite, run_id=run_id).first()


def run_latest_list(*, suite: str | None = None) -> list[Run]:
    """Return the latest run of each suite (or of the one given), by suite."""
    latest = _of_suite(suite).annotate(rank=_rank_in_suite()).filter(rank=1)
    return list(latest.order_by("suite")[:MAX_SUITES])


def case_failure_list(*, run: Run, limit: int = MAX_LISTED) -> QuerySet[CaseResult]:
    """Return the failed and errored cases of a run, by module and name."""
    return run.cases.filter(outcome__in=FAILING).order_by("module", "name", "pk")[:limit]


def run_window(*, run: Run, depth: int) -> list[RunRef]:
    """Return the run and up to depth - 1 runs of its suite before it, newest first."""
    earlier = Q(started_at__lt=run.started_at) | Q(started_at=run.started_at, pk__lte=run.pk)
    runs = Run.objects.filter(earlier, suite=run.suite).order_by(*NEWEST_FIRST)
    return [RunRef(*row) for row in runs.values_list(*_REF_FIELDS)[:depth]]


def suite_windows(*, suite: str | None = None, depth: int) -> list[list[RunRef]]:
    """Return each suite's latest `depth` runs, newest first (one list per suite)."""
    ranked = _of_suite(suite).annotate(rank=_rank_in_suite()).filter(rank__lte=depth)
    rows = ranked.order_by("suite", "rank").values_list(*_REF_FIELDS)[: MAX_SUITES * depth]
    windows: dict[str, list[RunRef]] = defaultdict(list)
    for row in rows:
        ref = RunRef(*row)
        windows[ref.suite].append(ref)
    return list(windows.values())


def _of_suite(suite: str | None) -> QuerySet[Run]:
    return Run.objects.filter(suite=suite) if suite else Run.objects.all()


def _rank_in_suite() -> Window:
    """Number each run within its suite, 1 for the newest."""
    newest_first = [F("started_at").desc(), F("pk").desc()]
    return Window(RowNumber(), partition_by=[F("suite")], order_by=newest_first)


def slower_list(
    *, chains: Mapping[int, Sequence[int]], rule: Slowdown
) -> dict[int, list[dict[str, Any]]]:
    """Return, for each run given with the earlier runs to compare with (newest first), its tests
    slower than `rule.factor` × the mean of their durations in those runs."""
    candidates = CaseResult.objects.filter(
        run_id__in=list(chains), duration_s__gte=rule.min_duration_s
    ).exclude(outcome=Outcome.SKIPPED)
    current: dict[int, list[Case]] = defaultdict(list)
    for run_pk, module, name, outcome, duration in candidates.values_list(
        "run_id", "module", "name", "outcome", "duration_s"
    ):
        current[run_pk].append(Case(module, name, outcome, duration))
    durations = _earlier_durations(chains, candidates) if current else {}
    return {
        run_pk: slower_tests(current[run_pk], _history(chain, durations), rule)
        for run_pk, chain in chains.items()
    }


def _earlier_durations(
    chains: Mapping[int, Sequence[int]], candidates: QuerySet[CaseResult]
) -> dict[int, dict[tuple[str, str], float]]:
    earlier = {pk for chain in chains.values() for pk in chain}
    timed = CaseResult.objects.filter(
        run_id__in=earlier, name__in=candidates.values("name"), duration_s__isnull=False
    ).exclude(outcome=Outcome.SKIPPED)
    found: dict[int, dict[tuple[str, str], float]] = defaultdict(dict)
    for run_pk, module, name, duration in timed.values_list(
        "run_id", "module", "name", "duration_s"
    ):
        if duration is not None:
            found[run_pk][(module, name)] = duration
    return found


def _history(
    chain: Sequence[int], durations: Mapping[int, Mapping[tuple[str, str], float]]
) -> dict[tuple[str, str], list[float]]:
    history: dict[tuple[str, str], list[float]] = defaultdict(list)
    for run_pk in chain:
        for key, duration in durations.get(run_pk, {}).items():
            history[key].append(duration)
    return history


def flaky_list(*, windows: Sequence[Sequence[RunRef]]) -> dict[int, list[dict[str, Any]]]:
    """Return, for the newest run of each window (newest first), the tests that both passed and
    failed at one commit within the window."""
    shared = [pk for window in windows for pk in _runs_sharing_a_commit(window)]
    outcomes: dict[int, dict[tuple[str, str], str]] = defaultdict(dict)
    if shared:
        failing = CaseResult.objects.filter(run_id__in=shared, outcome__in=FAILING)
        rows = (
            CaseResult.objects.filter(run_id__in=shared, name__in=failing.values("name"))
            .exclude(outcome=Outcome.SKIPPED)
            .values_list("run_id", "module", "name", "outcome")
        )
        for run_pk, module, name, outcome in rows:
            outcomes[run_pk][(module, name)] = outcome
    return {window[0].pk: flaky_tests(window, outcomes) for window in windows if window}


def _runs_sharing_a_commit(window: Sequence[RunRef]) -> list[int]:
    runs_by_commit: dict[str, list[int]] = defaultdict(list)
    for run in window:
        if run.commit:
            runs_by_commit[run.commit].append(run.pk)
    return [pk for pks in runs_by_commit.values() if len(pks) > 1 for pk in pks]
