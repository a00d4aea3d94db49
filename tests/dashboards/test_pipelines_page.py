"""The pipelines page through the Django test client: runs and phases, metrics, queries."""

import time

import pytest

from apps.dashboards.queries.pipelines import histogram_buckets
from apps.metrics.constants import DAY_MS
from apps.metrics.services import points_write
from apps.traces.services import spans_write
from tests.dashboards.support import queries_for
from tests.metrics.factories import gauge, histogram, point
from tests.metrics.rollup_support import roll_up, write
from tests.traces.factories import SpanInFactory

pytestmark = pytest.mark.django_db
URL = "/ui/pipelines/"
MS = 1_000_000
HOPS = [0, 1, 2, 3, 4, 5]


def seed_runs(count: int = 3, first_trace: int = 1, pipelines=("train", "evaluate")) -> None:
    """Pipeline runs over the last minutes: load then train phases; every third train fails.
    Also one ordinary request trace, which is no pipeline run."""
    now_ns = time.time_ns()
    spans = []
    for n in range(count):
        trace = first_trace + n
        start_ns = now_ns - (count - n) * 60_000 * MS
        ms = 1000 + 100 * n
        fails = n % 3 == 2
        common = {"trace": trace, "service": "forge", "resource": {"service.name": "forge"}}
        spans += [
            SpanInFactory(
                **common,
                span=1,
                name="pipeline",
                start_ns=start_ns,
                end_ns=start_ns + ms * MS,
                attributes={"pipeline.name": pipelines[n % len(pipelines)]},
                status="ERROR" if fails else "OK",
            ),
            SpanInFactory(
                **common,
                span=2,
                parent=1,
                name="phase_load",
                start_ns=start_ns,
                end_ns=start_ns + 300 * MS,
            ),
            SpanInFactory(
                **common,
                span=3,
                parent=1,
                name="phase_train",
                start_ns=start_ns + 300 * MS,
                end_ns=start_ns + ms * MS,
                status="ERROR" if fails else "OK",
            ),
        ]
    spans.append(
        SpanInFactory(trace=first_trace + count, span=1, start_ns=now_ns - 5 * MS, end_ns=now_ns)
    )
    spans_write(spans=spans)


def seed_metrics(series: int = 1) -> None:
    """A model metric labelled by pipeline; P2P hop histograms (cumulative) and message counts."""
    now_ms = int(time.time() * 1000)
    points = []
    for n in range(series):
        kind = {"message_type": f"kind{n}"}
        for minute, ts_ms in enumerate((now_ms - 120_000, now_ms - 60_000)):
            points += [
                gauge(
                    "model_loss",
                    0.5 - minute / 10,
                    service="forge",
                    labels={"pipeline": "train", "run": str(n)},
                    ts_ms=ts_ms,
                ),
                histogram(
                    "p2p_routing_hops",
                    bounds=HOPS,
                    bucket_counts=[0, 2 * (minute + 1), 4 * (minute + 1), 1, 0, 0, 0],
                    service="forge",
                    labels=kind,
                    ts_ms=ts_ms,
                ),
                point(
                    "p2p_messages_total",
                    10.0 * (minute + 1),
                    service="forge",
                    labels=kind,
                    ts_ms=ts_ms,
                ),
            ]
    points_write(points=points)


def test_it_lists_runs_with_phases_failures_and_stats(viewer_client):
    seed_runs(3)

    page = viewer_client.get(URL).content.decode()

    assert page.count("badge-failed") == 1
    assert page.count('href="/ui/traces/0') == 3  # the request trace is no pipeline run
    assert "load → train ✗" in page
    assert 'id="run-durations"' in page
    assert 'data-empty="pipelines"' not in page


def test_it_filters_by_pipeline(viewer_client):
    seed_runs(4)

    page = viewer_client.get(URL + "?pipeline=evaluate").content.decode()

    assert page.count('href="/ui/traces/0') == 2
    assert "durations?pipeline=evaluate" in page


def test_model_and_p2p_metrics_are_charted(viewer_client):
    seed_runs(1)
    seed_metrics()

    page = viewer_client.get(URL + "?pipeline=train").content.decode()

    assert "name=model_loss&amp;agg=avg&amp;group_by=pipeline&amp;label.pipeline=train" in page
    assert "/api/v1/dashboards/metrics/percentiles?name=p2p_routing_hops" in page
    assert "name=p2p_messages_total&amp;agg=rate&amp;group_by=message_type" in page
    assert 'id="hops-p2p_routing_hops"' in page


def test_hop_buckets_are_the_increase_over_the_range():
    seed_metrics()
    now_ms = int(time.time() * 1000)

    whole = histogram_buckets(name="p2p_routing_hops", start_ms=now_ms - 600_000, end_ms=now_ms)
    last = histogram_buckets(name="p2p_routing_hops", start_ms=now_ms - 90_000, end_ms=now_ms)

    assert whole == [("0", 0), ("1", 4), ("2", 8), ("3", 1), ("4", 0), ("5", 0), ("+Inf", 0)]
    assert last == [("0", 0), ("1", 2), ("2", 4), ("3", 0), ("4", 0), ("5", 0), ("+Inf", 0)]


def test_raw_hop_observations_are_counted_by_value():
    points_write(
        points=[
            point("p2p_routing_hops", v, type="histogram", ts_ms=int(time.time() * 1000) - k)
            for k, v in enumerate([1, 2, 2, 3])
        ]
    )
    now_ms = int(time.time() * 1000)

    found = histogram_buckets(name="p2p_routing_hops", start_ms=now_ms - 60_000, end_ms=now_ms + 1)

    assert found == [("1", 1), ("2", 2), ("3", 1)]


def test_raw_hop_observations_of_a_long_range_are_counted_in_the_rollups_buckets():
    now_ms = int(time.time() * 1000)
    three_days_ago = now_ms - 3 * DAY_MS
    write(
        *[
            point("p2p_routing_hops", v, type="histogram", ts_ms=three_days_ago - k)
            for k, v in enumerate([1, 2, 2, 3])
        ]
    )
    roll_up(now_ms)

    found = histogram_buckets(name="p2p_routing_hops", start_ms=now_ms - 7 * DAY_MS, end_ms=now_ms)

    # Log buckets, 8 an octave: 1 and 2 are bounds themselves, 3 is counted up to 2^(13/8).
    assert found == [("1", 1), ("2", 2), ("3.08442", 1)]


def test_without_runs_it_shows_what_to_send(viewer_client):
    seed_runs(0)  # only the ordinary request

    page = viewer_client.get(URL).content.decode()

    assert 'data-empty="pipelines"' in page
    assert "pipeline.name" in page


def test_the_durations_endpoint_answers_a_line_per_pipeline(viewer_client):
    seed_runs(3)

    answer = viewer_client.get("/api/v1/dashboards/pipelines/durations").json()

    assert [line["label"] for line in answer["lines"]] == ["evaluate", "train"]
    assert [p[1] for p in answer["lines"][1]["points"]] == [1.0, 1.2]


def test_its_query_count_does_not_grow_with_the_data(viewer_client):
    seed_runs(2)
    seed_metrics(1)
    few = queries_for(viewer_client, URL)
    seed_runs(40, first_trace=100)
    seed_metrics(8)
    many = queries_for(viewer_client, URL)

    assert few == many <= 12
