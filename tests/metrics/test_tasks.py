"""The periodic metrics tasks: names, limits, queue, and the lock that keeps them single."""

import time

import pytest

from apps.core.locks import single_flight
from apps.metrics import tasks
from apps.metrics.constants import HOUR_MS, Resolution
from apps.metrics.models import PointHead, Rollup
from apps.metrics.rollups import rollup_watermark
from tests.metrics.factories import gauge, stored, stored_count
from tests.metrics.rollup_support import write

pytestmark = pytest.mark.django_db


def _hours_ago(hours: float) -> int:
    return round(time.time() * 1000 - hours * HOUR_MS)


@pytest.mark.parametrize(
    ("task", "name"),
    [
        (tasks.rollup, "aivmon.metrics.rollup"),
        (tasks.prune, "aivmon.metrics.prune"),
        (tasks.compact, "aivmon.metrics.compact"),
    ],
)
def test_the_tasks_are_named_time_limited_and_run_on_the_maintenance_queue(task, name):
    assert (task.name, task.queue) == (name, "maintenance")
    assert 0 < task.soft_time_limit < task.time_limit


def test_the_rollup_task_rolls_up_the_closed_hours_and_days():
    write(
        gauge("temperature", 1, ts_ms=_hours_ago(50)), gauge("temperature", 2, ts_ms=_hours_ago(3))
    )

    summary = tasks.rollup()

    assert summary["hours"] >= 2 and summary["days"] >= 1
    assert rollup_watermark(Resolution.HOUR) >= _hours_ago(1.1)
    assert Rollup.objects.filter(resolution=Resolution.DAY).exists()


def test_the_prune_task_deletes_rolled_up_points_past_the_raw_retention():
    write(
        gauge("temperature", 1, ts_ms=_hours_ago(9 * 24)),
        gauge("temperature", 2, ts_ms=_hours_ago(3)),
    )
    tasks.rollup()

    summary = tasks.prune()

    assert (summary["points"], summary["complete"]) == (1, True)
    assert stored("value") == [2.0]


def test_a_rollup_run_is_skipped_while_another_holds_the_lock():
    write(gauge("temperature", 1, ts_ms=_hours_ago(3)))

    with single_flight("aivmon.metrics.rollup", timeout_s=10) as held:
        summary = tasks.rollup()

    assert (held, summary, Rollup.objects.count()) == (True, {"skipped": True}, 0)
    assert tasks.rollup()["hours"] >= 1  # the lock is free again


def test_a_prune_run_is_skipped_while_another_holds_the_lock():
    write(gauge("temperature", 1, ts_ms=_hours_ago(9 * 24)))
    tasks.rollup()

    with single_flight("aivmon.metrics.prune", timeout_s=10) as held:
        summary = tasks.prune()

    assert (held, summary, stored_count()) == (True, {"skipped": True}, 1)
    assert tasks.prune()["points"] == 1


def test_the_tasks_are_idempotent():
    write(
        gauge("temperature", 1, ts_ms=_hours_ago(9 * 24)),
        gauge("temperature", 2, ts_ms=_hours_ago(3)),
    )
    tasks.rollup()
    tasks.prune()
    rows = list(Rollup.objects.order_by("id").values_list("resolution", "bucket_start_ms", "count"))

    again = (tasks.rollup(), tasks.prune())

    assert again[1]["points"] == 0
    assert (
        list(Rollup.objects.order_by("id").values_list("resolution", "bucket_start_ms", "count"))
        == rows
    )


def test_the_compact_task_empties_the_settled_head_once(settings):
    settings.AIVMON_METRICS_HEAD_COMPACT_EVERY_MS = 10**15  # no compaction by the writes
    write(*[gauge("temperature", i, ts_ms=_hours_ago(1) + i) for i in range(5)])

    first, second = tasks.compact(), tasks.compact()

    assert (first["moved"] in (0, 5), second, stored_count()) == (True, {"moved": 0}, 5)
    assert not PointHead.objects.exists()
