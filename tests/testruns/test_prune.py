"""Test-run retention: runs and their case results are kept 180 days; pruning is idempotent."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.core.models import RetentionPolicy
from apps.testruns import tasks
from apps.testruns.models import CaseResult, Run
from apps.testruns.services import runs_prune
from tests.testruns.support import store_run

pytestmark = pytest.mark.django_db


def _run(run_id: str, days_ago: float):
    at = timezone.now() - timedelta(days=days_ago)
    return store_run(run_id, [("test_a", "passed", 0.1), ("test_b", "failed", 0.1)], at=at).run


def test_runs_older_than_180_days_go_with_their_case_results():
    kept = _run("new", 179)
    _run("old", 181)

    deleted = tasks.prune()

    assert deleted == 1
    assert list(Run.objects.values_list("pk", flat=True)) == [kept.pk]
    assert set(CaseResult.objects.values_list("run_id", flat=True)) == {kept.pk}


def test_retention_days_come_from_the_database_and_a_second_run_deletes_nothing():
    RetentionPolicy.objects.filter(key="testruns.runs").update(days=10)
    _run("old", 11)
    kept = _run("new", 9)

    first, second = tasks.prune(), tasks.prune()

    assert (first, second) == (1, 0)
    assert list(Run.objects.values_list("pk", flat=True)) == [kept.pk]


def test_runs_are_kept_forever_when_the_retention_is_empty():
    RetentionPolicy.objects.filter(key="testruns.runs").update(days=None)
    _run("ancient", 3000)

    assert tasks.prune() == 0
    assert Run.objects.count() == 1


def test_one_prune_round_deletes_at_most_its_limit_oldest_first():
    for i in range(5):
        _run(f"old-{i}", 200 + i)
    newest_old = Run.objects.get(run_id="old-0")

    rounds = [runs_prune(before=timezone.now() - timedelta(days=180), limit=2) for _ in range(2)]

    assert rounds == [2, 2]
    assert list(Run.objects.values_list("pk", flat=True)) == [newest_old.pk]
