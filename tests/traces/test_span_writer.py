import itertools
import threading

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from apps.traces import services
from apps.traces.models import Span, TraceSummary
from apps.traces.services import spans_write
from tests.traces.factories import MS, T0_NS, SpanInFactory, span_id, trace_id

pytestmark = pytest.mark.django_db


def _summary(n: int = 1) -> TraceSummary:
    return TraceSummary.objects.get(trace_id=trace_id(n))


def _three_spans():
    """A root (0-100 ms, api), a child (10-60 ms, db) and a grandchild with an error."""
    return [
        SpanInFactory(span=1, at_ms=0, ms=100, name="GET /orders"),
        SpanInFactory(span=2, parent=1, at_ms=10, ms=50, service="db", name="SELECT"),
        SpanInFactory(span=3, parent=2, at_ms=20, ms=5, service="db", status="ERROR"),
    ]


def test_it_stores_every_field_of_a_span():
    event = {"name": "retry", "time_ns": T0_NS + MS, "attributes": {"attempt": 2}}
    result = spans_write(
        spans=[
            SpanInFactory(
                span=7,
                parent=3,
                kind="client",
                status="ERROR",
                status_message="boom",
                attributes={"http.status_code": 500, "nested": {"a": [1, 2]}},
                events=[event],
                resource={"service.name": "api", "host.name": "a"},
            )
        ]
    )

    assert (result.accepted, result.rejected) == (1, [])
    stored = Span.objects.get()
    assert (stored.trace_id, stored.span_id, stored.parent_span_id) == (
        trace_id(1),
        span_id(7),
        span_id(3),
    )
    assert (stored.service, stored.name, stored.kind) == ("api", "GET /login", "client")
    assert (stored.start_ns, stored.end_ns, stored.duration_ms) == (T0_NS, T0_NS + 10 * MS, 10.0)
    assert (stored.status, stored.status_message) == ("ERROR", "boom")
    assert stored.attributes == {"http.status_code": 500, "nested": {"a": [1, 2]}}
    assert stored.events == [event]
    assert stored.resource == {"service.name": "api", "host.name": "a"}


def test_a_root_span_is_stored_with_a_blank_parent():
    spans_write(spans=[SpanInFactory(parent=None)])

    assert Span.objects.get().parent_span_id == ""


def test_it_summarises_a_trace_from_its_spans():
    spans_write(spans=_three_spans())

    summary = _summary()
    assert (summary.root_span_id, summary.root_service, summary.root_name) == (
        span_id(1),
        "api",
        "GET /orders",
    )
    assert (summary.start_ns, summary.end_ns, summary.duration_ms) == (
        T0_NS,
        T0_NS + 100 * MS,
        100.0,
    )
    assert (summary.span_count, summary.error_count) == (3, 1)
    assert summary.services == ["api", "db"]


def test_a_resent_batch_is_stored_once_and_counted_once():
    spans_write(spans=_three_spans())
    result = spans_write(spans=_three_spans())

    assert result.accepted == 3
    assert Span.objects.count() == 3
    assert (_summary().span_count, _summary().error_count) == (3, 1)


def test_a_span_repeated_within_one_batch_is_counted_once():
    root, child, grandchild = _three_spans()

    spans_write(spans=[root, child, child, grandchild, grandchild])

    assert Span.objects.count() == 3
    assert (_summary().span_count, _summary().error_count) == (3, 1)


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
def test_the_summary_is_the_same_whatever_order_the_batches_arrive_in(order):
    spans = _three_spans()
    for index in order:
        spans_write(spans=[spans[index]])

    summary = _summary()
    assert (summary.root_span_id, summary.root_name) == (span_id(1), "GET /orders")
    assert (summary.start_ns, summary.end_ns) == (T0_NS, T0_NS + 100 * MS)
    assert (summary.span_count, summary.error_count) == (3, 1)
    assert summary.services == ["api", "db"]


def test_the_earliest_span_stands_in_as_root_until_the_root_arrives():
    spans_write(spans=[SpanInFactory(span=3, parent=1, at_ms=30, name="late")])
    spans_write(spans=[SpanInFactory(span=2, parent=1, at_ms=20, name="early")])

    assert (_summary().root_span_id, _summary().root_name) == (span_id(2), "early")

    spans_write(spans=[SpanInFactory(span=1, at_ms=25, name="the root")])

    assert (_summary().root_span_id, _summary().root_name) == (span_id(1), "the root")
    assert _summary().root_has_parent is False


def test_timeouts_count_as_errors_and_unset_does_not():
    spans_write(
        spans=[
            SpanInFactory(status="TIMEOUT"),
            SpanInFactory(status="ERROR"),
            SpanInFactory(status="UNSET"),
            SpanInFactory(status="OK"),
        ]
    )

    assert _summary().error_count == 2


def test_each_trace_of_a_batch_gets_its_own_summary():
    spans_write(spans=[SpanInFactory(trace=n, ms=n) for n in range(1, 6)])

    assert TraceSummary.objects.count() == 5
    assert [_summary(n).duration_ms for n in range(1, 6)] == [1.0, 2.0, 3.0, 4.0, 5.0]


def test_items_that_cannot_be_stored_are_refused_by_index_and_the_rest_stored():
    spans = [
        SpanInFactory(span=1),
        SpanInFactory(trace_id="NOT-HEX"),
        SpanInFactory(kind="sideways"),
        SpanInFactory(status="MAYBE"),
        SpanInFactory(start_ns=T0_NS, end_ns=T0_NS - 1),
        SpanInFactory(attributes={"bytes": b"\x00"}),
        SpanInFactory(span=2),
    ]

    result = spans_write(spans=spans)

    assert result.accepted == 2
    assert [index for index, _ in result.rejected] == [1, 2, 3, 4, 5]
    assert all(reason for _, reason in result.rejected)
    assert Span.objects.count() == 2


def test_nul_characters_are_dropped_from_text_and_attributes():
    spans_write(
        spans=[SpanInFactory(name="GET\x00 /", attributes={"k\x00": "v\x00", "list": ["\x00a"]})]
    )

    stored = Span.objects.get()
    assert stored.name == "GET /"
    assert stored.attributes == {"k": "v", "list": ["a"]}


def test_over_long_service_and_name_are_cut_to_fit_their_columns():
    spans_write(spans=[SpanInFactory(service="s" * 300, name="n" * 2000)])

    stored = Span.objects.get()
    assert (len(stored.service), len(stored.name)) == (255, 512)


def test_an_empty_batch_writes_nothing():
    with CaptureQueriesContext(connection) as queries:
        result = spans_write(spans=[])

    assert (result.accepted, result.rejected) == (0, [])
    assert len(queries) == 0


def _write_counting_queries(spans) -> int:
    with CaptureQueriesContext(connection) as queries:
        spans_write(spans=spans)
    return len(queries)


def test_a_batch_takes_the_same_few_queries_whatever_its_size(django_assert_max_num_queries):
    spans_write(spans=[SpanInFactory(trace=n) for n in range(1, 201)])
    # Both batches bring spans of traces already summarised (1-200) and of new ones.
    small = [SpanInFactory(trace=n % 5 + 199) for n in range(10)]
    large = [SpanInFactory(trace=n % 400 + 1) for n in range(500)]

    small_count = _write_counting_queries(small)
    with django_assert_max_num_queries(small_count):
        spans_write(spans=large)

    assert small_count <= 8  # (savepoint or begin), 3 for the spans, 3 for summaries, release
    assert TraceSummary.objects.get(trace_id=trace_id(1)).span_count == 3
    assert TraceSummary.objects.get(trace_id=trace_id(400)).span_count == 1


def test_the_batch_is_one_transaction(monkeypatch):
    spans_write(spans=[SpanInFactory(span=1)])

    def fail(new_spans):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(services, "summaries_fold", fail)
    with pytest.raises(RuntimeError):
        spans_write(spans=[SpanInFactory(span=2), SpanInFactory(trace=2)])

    assert Span.objects.count() == 1
    assert TraceSummary.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_batches_of_one_trace_are_all_counted():
    traces, writers = range(1, 11), 3
    barrier = threading.Barrier(writers)
    errors = []

    def write(writer: int) -> None:
        try:
            for trace in traces:
                barrier.wait(timeout=30)
                spans = [SpanInFactory(trace=trace, span=(writer + 1) * 100 + n) for n in range(20)]
                spans_write(spans=spans + [SpanInFactory(trace=trace, span=1)])
        except Exception as exc:  # reported below; a thread's exception is otherwise lost
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    counts = set(TraceSummary.objects.values_list("span_count", flat=True))
    assert counts == {writers * 20 + 1}
    assert Span.objects.count() == len(traces) * (writers * 20 + 1)


@pytest.mark.parametrize("size", [70, 71, 72, 143, 500])
def test_a_batch_of_any_size_stores_each_span_once_and_counts_it_once(size):
    spans = [SpanInFactory(trace=n % 7 + 1, span=n + 1) for n in range(size)]
    resent = spans[: size // 2]

    first = spans_write(spans=spans + spans[:3])  # three spans twice in one batch
    second = spans_write(spans=resent)

    assert (first.accepted, second.accepted) == (size + 3, len(resent))
    assert Span.objects.count() == size
    assert sum(TraceSummary.objects.values_list("span_count", flat=True)) == size


@pytest.mark.skipif(connection.vendor != "sqlite", reason="PostgreSQL answers with RETURNING")
def test_spans_that_are_all_new_are_not_read_back():
    with CaptureQueriesContext(connection) as new:
        spans_write(spans=[SpanInFactory(span=n) for n in range(1, 101)])
    with CaptureQueriesContext(connection) as partly_new:
        spans_write(spans=[SpanInFactory(span=n) for n in range(51, 151)])

    def reads_back(queries) -> bool:
        return any("WHERE id >" in query["sql"] for query in queries)

    assert (reads_back(new), reads_back(partly_new)) == (False, True)
    assert _summary().span_count == 150
