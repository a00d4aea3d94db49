"""aivmon goes away while the application keeps emitting; nothing is lost, nothing doubled."""

import sys

import pytest
from aivmon_sdk import traced_operation

from apps.traces.models import Span
from tests.support.processes import answers_healthz, free_port, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

TRACES, SPANS_PER_TRACE = 100, 100
GUNICORN = [sys.executable, "-m", "gunicorn", "aivmon.wsgi", "-c", "gunicorn.conf.py"]


def _emit(obs) -> set[str]:
    """Emit TRACES traces of SPANS_PER_TRACE spans each; return their span ids."""
    span_ids = set()
    for t in range(TRACES):
        with traced_operation(obs, "batch job", {"job": t}) as root:
            span_ids.add(root.get_span_context().span_id)
            for i in range(SPANS_PER_TRACE - 1):
                with traced_operation(obs, "step", {"step": i}) as child:
                    span_ids.add(child.get_span_context().span_id)
    return {format(span_id, "016x") for span_id in span_ids}


def test_ten_thousand_spans_emitted_during_an_outage_all_arrive_once(
    start_process, make_obs, monkeypatch, reader
):
    port = free_port()
    monkeypatch.setenv("AIVMON_PORT", str(port))
    monkeypatch.setenv("AIVMON_WEB_WORKERS", "1")
    server = start_process("gunicorn", GUNICORN)
    wait_for(lambda: answers_healthz(port), what="gunicorn to answer", processes=[server])
    obs = make_obs("outage", f"http://127.0.0.1:{port}")
    with traced_operation(obs, "before the outage"):
        pass
    assert obs.drain(timeout_s=30)

    server.stop()
    emitted = _emit(obs)
    assert obs.flush()
    spooled = len(obs.spool)
    restarted = start_process("gunicorn-again", GUNICORN)
    wait_for(lambda: answers_healthz(port), what="gunicorn to answer", processes=[restarted])
    assert obs.drain(timeout_s=60)

    summaries = reader.get("/api/v1/traces?service=outage&name=batch+job&limit=1000").json()
    stored = set(
        Span.objects.filter(service="outage", name__in=["batch job", "step"]).values_list(
            "span_id", flat=True
        )
    )
    assert len(emitted) == TRACES * SPANS_PER_TRACE == 10_000
    assert stored == emitted
    assert sum(t["span_count"] for t in summaries["results"]) == 10_000
    assert spooled >= TRACES * SPANS_PER_TRACE // 512
    assert obs.replayer.refused == 0 and obs.spool.dropped == 0
