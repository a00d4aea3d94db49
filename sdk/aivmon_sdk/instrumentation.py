"""`@timed_operation` (sync and async) and the `traced_operation` context manager."""

import functools
import inspect
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from time import perf_counter
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar, cast

from opentelemetry import trace

if TYPE_CHECKING:
    from aivmon_sdk.core import ObservabilitySystem

P = ParamSpec("P")
R = TypeVar("R")

DURATION_METRIC = "operation_duration_seconds"
# Seconds, from 0.5 ms to 60 s.
DURATION_BUCKETS_S = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
)  # fmt: skip


def timed_operation(
    obs: "ObservabilitySystem", name: str, attributes: Mapping[str, Any] | None = None
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorate a function or coroutine function: each call is a span named `name` (error status
    and the exception recorded when it raises) and one observation of the
    `operation_duration_seconds` histogram labelled operation and outcome (ok or error)."""
    histogram = obs.histogram(
        DURATION_METRIC, "Duration of timed operations", "s", boundaries=DURATION_BUCKETS_S
    )
    ok = {"operation": name, "outcome": "ok"}
    failed = {"operation": name, "outcome": "error"}
    span_attributes = dict(attributes or {})
    tracer = obs.tracer

    def decorate(function: Callable[P, R]) -> Callable[P, R]:
        if inspect.iscoroutinefunction(function):

            @functools.wraps(function)
            async def run_async(*args: P.args, **kwargs: P.kwargs) -> Any:
                started = perf_counter()
                labels = failed
                with tracer.start_as_current_span(name, attributes=span_attributes):
                    try:
                        result = await function(*args, **kwargs)
                        labels = ok
                        return result
                    finally:
                        histogram.record(perf_counter() - started, labels)

            return run_async  # type: ignore[return-value]

        @functools.wraps(function)
        def run(*args: P.args, **kwargs: P.kwargs) -> R:
            started = perf_counter()
            labels = failed
            with tracer.start_as_current_span(name, attributes=span_attributes):
                try:
                    result = function(*args, **kwargs)
                    labels = ok
                    return result
                finally:
                    histogram.record(perf_counter() - started, labels)

        return run

    return decorate


def traced_operation(
    tracer: "trace.Tracer | ObservabilitySystem",
    name: str,
    attributes: Mapping[str, Any] | None = None,
    kind: trace.SpanKind = trace.SpanKind.INTERNAL,
) -> AbstractContextManager[trace.Span]:
    """Run the block in a span named `name` (error status when it raises); yield the span."""
    real = cast(trace.Tracer, getattr(tracer, "tracer", tracer))
    # The tracer's own context manager, not a generator around it: one layer less per span.
    return real.start_as_current_span(name, kind=kind, attributes=attributes)
