"""The traces page without a browser: search filters, the waterfall, 404s, the query count."""

import re
import time

import pytest

from apps.traces.services import spans_write
from tests.dashboards.support import queries_for
from tests.traces.factories import SpanInFactory, span_id, trace_id

MS = 1_000_000


def seed_trace(n: int, *, ago_s: float = 60, ms: int = 120, service: str = "api", error=False):
    """Store trace `n`: a root span with a child and a grandchild (the grandchild fails if
    `error`), `ago_s` seconds ago, lasting `ms` milliseconds."""
    start = time.time_ns() - int(ago_s * 1e9)
    base = n * 10
    spans = [
        SpanInFactory(
            trace=n,
            span=base + 1,
            start_ns=start,
            end_ns=start + ms * MS,
            service=service,
            name=f"GET /orders/{n}",
        ),
        SpanInFactory(
            trace=n,
            span=base + 2,
            parent=base + 1,
            start_ns=start + 10 * MS,
            end_ns=start + (ms - 10) * MS,
            service="db",
            name="SELECT orders",
            kind="client",
            attributes={"db.system": "postgresql", "db.rows": 3},
        ),
        SpanInFactory(
            trace=n,
            span=base + 3,
            parent=base + 2,
            start_ns=start + 20 * MS,
            end_ns=start + 40 * MS,
            service="db",
            name="lock wait",
            kind="internal",
            status="ERROR" if error else "OK",
            status_message="deadlock" if error else "",
        ),
    ]
    spans_write(spans=spans)
    return trace_id(n)


def test_it_finds_traces_by_service_duration_and_status_newest_first(viewer_client):
    seed_trace(1, ago_s=300, ms=50, service="api")
    seed_trace(2, ago_s=200, ms=500, service="api", error=True)
    seed_trace(3, ago_s=100, ms=900, service="web")

    # A trace matches when one of its spans matches service and status together.
    page = viewer_client.get("/ui/traces/?service=db&min_duration_ms=100&status=ERROR")

    assert page.status_code == 200
    body = page.content.decode()
    assert f"/ui/traces/{trace_id(2)}/" in body
    assert trace_id(1) not in body
    assert trace_id(3) not in body

    everything = viewer_client.get("/ui/traces/").content.decode()
    assert (
        everything.index(trace_id(3))
        < everything.index(trace_id(2))
        < everything.index(trace_id(1))
    )


def test_the_time_range_leaves_out_older_traces(viewer_client):
    seed_trace(1, ago_s=2 * 3600)
    seed_trace(2, ago_s=60)

    body = viewer_client.get("/ui/traces/?range=1h").content.decode()

    assert trace_id(2) in body
    assert trace_id(1) not in body
    assert trace_id(1) in viewer_client.get("/ui/traces/?range=all").content.decode()


def test_the_chart_reads_the_public_traces_api_with_the_same_filters(viewer_client):
    seed_trace(1)

    body = viewer_client.get("/ui/traces/?service=api&min_duration_ms=5&range=6h").content.decode()

    assert 'data-src="/api/v1/traces?service=api&amp;min_duration_ms=5&amp;limit=1000"' in body
    assert 'data-range="21600"' in body
    assert viewer_client.get("/api/v1/traces?service=api&min_duration_ms=5").status_code == 200


def test_a_bad_filter_is_a_400_that_names_it(viewer_client):
    seed_trace(1)

    page = viewer_client.get("/ui/traces/?min_duration_ms=soon")

    assert page.status_code == 400
    assert "min_duration_ms: Must be a number of milliseconds" in page.content.decode()


def test_the_waterfall_nests_spans_marks_errors_and_links_the_logs(viewer_client):
    seed_trace(7, ms=100, error=True)

    page = viewer_client.get(f"/ui/traces/{trace_id(7)}/")

    assert page.status_code == 200
    body = page.content.decode()
    assert [body.index(f'data-span-id="{span_id(70 + k)}"') for k in (1, 2, 3)] == sorted(
        body.index(f'data-span-id="{span_id(70 + k)}"') for k in (1, 2, 3)
    )
    assert f'style="--depth: 2" data-depth="2" data-span-id="{span_id(73)}"' in body
    assert 'class="is-error"' in body and "deadlock" in body
    assert "left: 20.000%; width: 20.000%" in body  # 20 ms into a 100 ms trace, 20 ms long
    assert "<dt>db.system</dt><dd>postgresql</dd>" in body
    assert "critical path" in body
    assert f"/ui/logs/?trace_id={trace_id(7)}&amp;range=all" in body


def test_an_unknown_trace_is_a_404_page(viewer_client):
    for unknown in (trace_id(404), "not-a-trace-id"):
        page = viewer_client.get(f"/ui/traces/{unknown}/")

        assert page.status_code == 404
        assert "Trace not found" in page.content.decode()


def test_an_empty_platform_shows_what_to_send(viewer_client):
    body = viewer_client.get("/ui/traces/").content.decode()

    assert 'data-empty="traces"' in body
    assert "/api/v1/ingest/spans" in body


@pytest.mark.parametrize("url", ["/ui/traces/", f"/ui/traces/{trace_id(1)}/"])
def test_signed_out_visitors_are_sent_to_sign_in(client, url):
    assert client.get(url).url.startswith("/accounts/login/")


def test_the_search_issues_a_fixed_number_of_queries(viewer_client):
    seed_trace(1)
    few = queries_for(viewer_client, "/ui/traces/?service=db")

    for n in range(2, 40):
        seed_trace(n, ago_s=n, error=n % 3 == 0)
    many = queries_for(viewer_client, "/ui/traces/?service=db")

    assert few == many
    assert many <= 6


def test_the_waterfall_issues_a_fixed_number_of_queries(viewer_client):
    small = seed_trace(1)
    big = seed_trace(2)
    spans_write(
        spans=[
            SpanInFactory(
                trace=2,
                span=1000 + k,
                parent=21,
                start_ns=time.time_ns(),
                end_ns=time.time_ns() + MS,
            )
            for k in range(60)
        ]
    )

    assert queries_for(viewer_client, f"/ui/traces/{small}/") == queries_for(
        viewer_client, f"/ui/traces/{big}/"
    )
    assert queries_for(viewer_client, f"/ui/traces/{big}/") <= 5


def test_older_pages_follow_the_cursor_without_gaps_or_repeats(viewer_client):
    for n in range(1, 56):
        seed_trace(n, ago_s=1000 - n)

    first = viewer_client.get("/ui/traces/").content.decode()
    older = re.search(r'href="\?([^"]*)" rel="next"', first)
    assert older is not None
    second = viewer_client.get("/ui/traces/?" + older[1].replace("&amp;", "&")).content.decode()

    shown = [n for page in (first, second) for n in range(1, 56) if f"GET /orders/{n}<" in page]
    assert sorted(shown) == list(range(1, 56))
    assert 'rel="next"' not in second
    assert ">Newest</a>" in second
