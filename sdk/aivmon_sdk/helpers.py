"""Helpers for the seed's subsystems: MCP authentication, Agent Forge pipelines, P2P routing.

The shapes are what aivmon's dashboards read: a pipeline run is a trace whose root span is
named `pipeline` and carries `pipeline.name`, with one child span `phase_<name>` per phase;
P2P routing is the `p2p_routing_hops` histogram and the `p2p_messages_total` counter, both
labelled by `message_type`.
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from opentelemetry import trace
from opentelemetry.context import Context

if TYPE_CHECKING:
    from aivmon_sdk.core import ObservabilitySystem

HOP_BUCKETS = (0, 1, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30)


def log_authentication_attempt(
    obs: "ObservabilitySystem", user_id: str, success: bool, ip: str | None = None, **details: Any
) -> None:
    """Report an MCP server's authentication attempt: a security event and a counter."""
    outcome = "success" if success else "failure"
    obs.security_event(
        f"auth_{outcome}",
        user_id=user_id,
        source_ip=ip,
        endpoint=details.pop("endpoint", "mcp"),
        details={"source": "mcp", **details},
    )
    obs.counter("mcp_auth_attempts_total", "MCP authentication attempts").add(
        1, {"outcome": outcome}
    )


class PipelineRun:
    """A running pipeline: `with run.phase("train"):` opens a `phase_train` child span."""

    def __init__(self, obs: "ObservabilitySystem", name: str, span: trace.Span) -> None:
        self.obs, self.name, self.span = obs, name, span

    @contextmanager
    def phase(self, name: str, **attributes: Any) -> Iterator[trace.Span]:
        context = trace.set_span_in_context(self.span)
        with self.obs.tracer.start_as_current_span(
            f"phase_{name}",
            context=context,
            attributes={"pipeline.name": self.name, "pipeline.phase": name, **attributes},
        ) as span:
            yield span


@contextmanager
def pipeline_run(obs: "ObservabilitySystem", name: str, **attributes: Any) -> Iterator[PipelineRun]:
    """Run an Agent Forge pipeline as a trace of its own (linked to the caller's span, if any)."""
    current = trace.get_current_span().get_span_context()
    links = [trace.Link(current)] if current.is_valid else []
    with obs.tracer.start_as_current_span(
        "pipeline",
        context=Context(),
        links=links,
        attributes={"pipeline.name": name, **attributes},
    ) as span:
        yield PipelineRun(obs, name, span)


@contextmanager
def phase(obs: "ObservabilitySystem", name: str, **attributes: Any) -> Iterator[trace.Span]:
    """A `phase_<name>` span under the current span (inside `pipeline_run`, its root)."""
    with obs.tracer.start_as_current_span(
        f"phase_{name}", attributes={"pipeline.phase": name, **attributes}
    ) as span:
        yield span


def record_routing(
    obs: "ObservabilitySystem", message_type: str, route: Sequence[Any] | int
) -> None:
    """Count one routed P2P message and its hops (a route of nodes [a, b, c] is 2 hops)."""
    hops = route if isinstance(route, int) else max(len(route) - 1, 0)
    labels = {"message_type": message_type}
    obs.histogram(
        "p2p_routing_hops", "Hops a P2P message took", "{hop}", boundaries=HOP_BUCKETS
    ).record(hops, labels)
    obs.counter("p2p_messages_total", "P2P messages routed").add(1, labels)
