import pytest

from apps.traces.models import Span, TraceSummary
from apps.traces.services import spans_write, traces_prune
from tests.traces.factories import MS, T0_NS, SpanInFactory, trace_id

pytestmark = pytest.mark.django_db

DAY_MS = 86_400_000


@pytest.fixture
def traces():
    """Traces 1 (ok) and 2 (error) on day 0, 3 (ok) and 4 (error) on day 10."""
    spans_write(
        spans=[
            SpanInFactory(trace=1, span=1),
            SpanInFactory(trace=1, span=2, parent=1),
            SpanInFactory(trace=2, span=3, status="ERROR"),
            SpanInFactory(trace=3, span=4, at_ms=10 * DAY_MS),
            SpanInFactory(trace=4, span=5, at_ms=10 * DAY_MS, status="TIMEOUT"),
        ]
    )


def _left() -> list[str]:
    return sorted(TraceSummary.objects.values_list("trace_id", flat=True))


def test_traces_without_errors_go_at_their_cutoff_and_error_traces_stay(traces):
    removed = traces_prune(before_ns=T0_NS + 5 * DAY_MS * MS, error_before_ns=T0_NS)

    assert removed == 1
    assert _left() == [trace_id(2), trace_id(3), trace_id(4)]
    assert set(Span.objects.values_list("trace_id", flat=True)) == {trace_id(n) for n in (2, 3, 4)}


def test_error_traces_go_at_their_own_cutoff(traces):
    removed = traces_prune(before_ns=None, error_before_ns=T0_NS + 20 * DAY_MS * MS)

    assert removed == 2
    assert _left() == [trace_id(1), trace_id(3)]


def test_pruning_works_in_bounded_batches_oldest_first(traces):
    cutoff = T0_NS + 20 * DAY_MS * MS

    assert traces_prune(before_ns=cutoff, error_before_ns=cutoff, limit=3) == 3
    assert _left() == [trace_id(4)]
    assert traces_prune(before_ns=cutoff, error_before_ns=cutoff, limit=3) == 1
    assert traces_prune(before_ns=cutoff, error_before_ns=cutoff, limit=3) == 0


def test_no_cutoffs_keep_everything(traces):
    assert traces_prune(before_ns=None, error_before_ns=None) == 0
    assert len(_left()) == 4
