"""Test-run writes: store a run once per (suite, run id) with its case results and the figures
derived from it and its suite's history, hand it over to the alert engine, and prune.

The case results go in with one executemany, so a run costs the same queries whatever its size.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from apps.alerts import triggers as alert_triggers
from apps.core.rows import without_nul
from apps.core.times import datetime_rfc3339
from apps.testruns import figures, selectors
from apps.testruns.constants import (
    ALERT_KINDS,
    BASELINE_RUNS,
    FLAKY_WINDOW_RUNS,
    MESSAGE_MAX_LENGTH,
    MIN_DURATION_MS,
    MODULE_MAX_LENGTH,
    NAME_MAX_LENGTH,
    SLOWER_FACTOR,
    Outcome,
)
from apps.testruns.models import CaseResult, Run

DEFAULT_SLOWDOWN = figures.Slowdown(factor=SLOWER_FACTOR, min_duration_s=MIN_DURATION_MS / 1000)
CASE_COLUMNS = ("run_id", "module", "name", "outcome", "duration_s", "message")
# When one test appears twice in a report, the worse outcome is kept.
_RANK = {Outcome.SKIPPED: 0, Outcome.PASSED: 1, Outcome.ERROR: 2, Outcome.FAILED: 3}


@dataclass(frozen=True, slots=True)
class CaseIn:
    name: str
    module: str
    outcome: str
    duration_s: float | None
    message: str = ""


@dataclass(frozen=True, slots=True)
class RunIn:
    suite: str
    run_id: str
    started_at: datetime
    cases: list[CaseIn]
    commit: str = ""
    branch: str = ""
    # The report's own total time; None: the sum of the cases' durations.
    duration_s: float | None = None


@dataclass(frozen=True, slots=True)
class RunStored:
    run: Run
    created: bool

    def as_json(self) -> dict[str, Any]:
        """Return the stored run's summary, as the ingest endpoint answers it."""
        run = self.run
        return {
            "id": run.pk,
            "created": self.created,
            "suite": run.suite,
            "run_id": run.run_id,
            "commit": run.commit,
            "branch": run.branch,
            "started_at": datetime_rfc3339(run.started_at),
            "duration_s": run.duration_s,
            "totals": {key: getattr(run, key) for key in figures.Totals._fields},
            "success_rate": run.success_rate,
            "slower_tests": len(run.slower),
            "flaky_tests": len(run.flaky),
        }


def run_ingest(*, run: RunIn) -> RunStored:
    """Store a run with its case results and derived figures; a run already stored under the
    same suite and run id is answered as it is, unchanged."""
    existing = selectors.run_find(suite=run.suite, run_id=run.run_id)
    if existing is not None:
        return RunStored(existing, created=False)
    try:
        return RunStored(_store(run, cases_merged(run.cases)), created=True)
    except IntegrityError:
        # Another request stored the same run between the look-up and the insert.
        existing = selectors.run_find(suite=run.suite, run_id=run.run_id)
        if existing is None:
            raise
        return RunStored(existing, created=False)


def cases_merged(cases: Iterable[CaseIn]) -> list[CaseIn]:
    """Return one result per test (module and name): the worse outcome, the durations added."""
    merged: dict[tuple[str, str], CaseIn] = {}
    for case in cases:
        key = (case.module, case.name)
        seen = merged.get(key)
        merged[key] = case if seen is None else _worse(seen, case)
    return list(merged.values())


def _worse(first: CaseIn, second: CaseIn) -> CaseIn:
    worse = second if _RANK[Outcome(second.outcome)] > _RANK[Outcome(first.outcome)] else first
    timed = [c.duration_s for c in (first, second) if c.duration_s is not None]
    duration = sum(timed) if timed else None
    return CaseIn(worse.name, worse.module, worse.outcome, duration, worse.message)


@transaction.atomic
def _store(run: RunIn, cases: list[CaseIn]) -> Run:
    plain = [figures.Case(c.module, c.name, c.outcome, c.duration_s) for c in cases]
    counted = figures.totals(plain)
    timed = sum(c.duration_s for c in cases if c.duration_s is not None)
    stored = Run.objects.create(
        suite=run.suite,
        run_id=run.run_id,
        commit=run.commit,
        branch=run.branch,
        started_at=run.started_at,
        received_at=timezone.now(),
        duration_s=run.duration_s if run.duration_s is not None else timed,
        **counted._asdict(),
        success_rate=counted.success_rate,
        modules=figures.module_rates(plain),
        slowest=figures.slowest(plain),
    )
    _insert_cases(stored.pk, cases)
    _derive_from_history(stored)
    for kind in ALERT_KINDS:
        alert_triggers.kind_changed(kind)  # the hand-off to the alert engine, after commit
    return stored


def _insert_cases(run_pk: int, cases: list[CaseIn]) -> None:
    if not cases:
        return
    table, columns = CaseResult._meta.db_table, ", ".join(CASE_COLUMNS)
    rows = [
        [
            run_pk,
            without_nul(case.module)[:MODULE_MAX_LENGTH],
            without_nul(case.name)[:NAME_MAX_LENGTH],
            case.outcome,
            case.duration_s,
            without_nul(case.message)[:MESSAGE_MAX_LENGTH],
        ]
        for case in cases
    ]
    placeholders = ", ".join(["%s"] * len(CASE_COLUMNS))
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {table} ({columns}) VALUES ({placeholders})",  # noqa: S608
            rows,
        )


def _derive_from_history(run: Run) -> None:
    """Fill in the run's newly slower and flaky tests, judged against the runs before it."""
    window = selectors.run_window(run=run, depth=max(BASELINE_RUNS + 1, FLAKY_WINDOW_RUNS))
    earlier = [ref.pk for ref in window[1 : BASELINE_RUNS + 1]]
    run.slower = selectors.slower_list(chains={run.pk: earlier}, rule=DEFAULT_SLOWDOWN)[run.pk]
    run.flaky = selectors.flaky_list(windows=[window[:FLAKY_WINDOW_RUNS]])[run.pk]
    Run.objects.filter(pk=run.pk).update(slower=run.slower, flaky=run.flaky)


# --- retention --------------------------------------------------------------------------------


def runs_prune(*, before: datetime, limit: int = 20) -> int:
    """Delete up to `limit` runs (with their case results) that started before `before`;
    call again until it answers 0."""
    with transaction.atomic():
        pks = list(
            Run.objects.filter(started_at__lt=before)
            .order_by("started_at")
            .values_list("pk", flat=True)[:limit]
        )
        if pks:
            CaseResult.objects.filter(run_id__in=pks).delete()
            Run.objects.filter(pk__in=pks).delete()
    return len(pks)
