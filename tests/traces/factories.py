import factory

from apps.traces.services import SpanIn

T0_NS = 1_764_200_000_000_000_000  # 2025-11-26T23:33:20Z
MS = 1_000_000


def trace_id(n: int) -> str:
    return f"{n:032x}"


def span_id(n: int) -> str:
    return f"{n:016x}"


class SpanInFactory(factory.Factory):
    """A span of trace 1, 10 ms long from T0; ids from numbers: SpanInFactory(trace=2, span=3)."""

    class Meta:
        model = SpanIn
        exclude = ("trace", "span", "parent", "at_ms", "ms")

    trace = 1
    span = factory.Sequence(lambda n: n + 1)
    parent: int | None = None
    at_ms = 0
    ms = 10

    trace_id = factory.LazyAttribute(lambda o: trace_id(o.trace))
    span_id = factory.LazyAttribute(lambda o: span_id(o.span))
    parent_span_id = factory.LazyAttribute(lambda o: span_id(o.parent) if o.parent else None)
    service = "api"
    name = "GET /login"
    kind = "server"
    start_ns = factory.LazyAttribute(lambda o: T0_NS + o.at_ms * MS)
    end_ns = factory.LazyAttribute(lambda o: T0_NS + (o.at_ms + o.ms) * MS)
    status = "OK"
    status_message = ""
    attributes = factory.LazyFunction(lambda: {"http.status_code": 200})
    events = factory.LazyFunction(list)
    resource = factory.LazyFunction(lambda: {"service.name": "api"})
