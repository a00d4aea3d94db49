import time

import pytest

from apps.core.locks import single_flight
from apps.traces import tasks
from apps.traces.models import TraceSummary
from apps.traces.services import spans_write
from tests.traces.factories import SpanInFactory, trace_id

pytestmark = pytest.mark.django_db

DAY_NS = 86_400 * 1_000_000_000


def _span(trace: int, age_days: float, status: str = "OK"):
    start = time.time_ns() - int(age_days * DAY_NS)
    return SpanInFactory(trace=trace, start_ns=start, end_ns=start + 1_000_000, status=status)


@pytest.fixture
def traces():
    spans_write(spans=[_span(1, 5), _span(2, 5, "ERROR"), _span(3, 0.1), _span(4, 100, "ERROR")])


def _left() -> list[str]:
    return sorted(TraceSummary.objects.values_list("trace_id", flat=True))


def test_the_prune_task_applies_the_retention_policies_and_twice_is_once(traces):
    first = tasks.prune()
    second = tasks.prune()

    assert (first, second) == (2, 0)
    assert _left() == [trace_id(2), trace_id(3)]


def test_the_prune_task_skips_while_another_runner_holds_the_lock(traces):
    with single_flight("traces.prune", timeout_s=30):
        skipped = tasks.prune()

    assert skipped == 0 and len(_left()) == 4
