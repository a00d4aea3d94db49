"""Pipelines (Agent Forge): runs with their phases, phase statistics, duration trends, the
metrics labelled by pipeline, and P2P routing (hop histograms, message rates)."""

import time
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path

from apps.dashboards.access import viewer_page
from apps.dashboards.pages import PageEntry
from apps.dashboards.queries import pipelines as queries
from apps.dashboards.queries.metrics import RANGES, range_key

PAGE = PageEntry("pipelines", "Pipelines", 90)
DEFAULT_RANGE = "24h"
NS_PER_S = 1_000_000_000


@viewer_page
def pipelines(request: HttpRequest) -> HttpResponse:
    """Runs, phases and trends of the pipelines in the range; model and P2P metrics."""
    chosen = range_key(request.GET.get("range"), DEFAULT_RANGE)
    pipeline = request.GET.get("pipeline", "").strip()
    end_s = time.time()
    start_s = end_s - RANGES[chosen]
    runs = queries.pipeline_run_list(
        start_ns=int(start_s * NS_PER_S), end_ns=int(end_s * NS_PER_S), pipeline=pipeline or None
    )
    queries.phases_attach(runs)
    label = {"label.pipeline": pipeline} if pipeline else {}
    context = {
        "range": chosen,
        "range_s": RANGES[chosen],
        "ranges": RANGES,
        "pipeline": pipeline,
        "pipeline_names": queries.pipeline_name_list(
            start_ns=int(start_s * NS_PER_S), end_ns=int(end_s * NS_PER_S)
        ),
        "runs": runs,
        "failures": sum(run.failed for run in runs),
        "phase_stats": queries.phase_stats(runs),
        "duration_query": urlencode({"pipeline": pipeline} if pipeline else {}),
        "model_metrics": [
            (name, urlencode({"name": name, "agg": "avg", "group_by": "pipeline", **label}))
            for name in queries.pipeline_metric_names()
        ],
        **_p2p_context(start_ms=int(start_s * 1000), end_ms=int(end_s * 1000)),
    }
    return render(request, "dashboards/pipelines.html", context)


def _p2p_context(*, start_ms: int, end_ms: int) -> dict:
    """The p2p_* metrics with their chart queries, and the bucket bars of the histograms."""
    p2p = queries.p2p_metric_list()
    hops = [
        (name, _bars(queries.histogram_buckets(name=name, start_ms=start_ms, end_ms=end_ms)))
        for name, kind in p2p
        if kind == "histogram"
    ]
    return {"p2p": [(name, kind, _p2p_query(name, kind)) for name, kind in p2p], "hops": hops}


def _bars(buckets: list[tuple[str, float]]) -> list[tuple[str, float, float]]:
    """Each bucket with its count and its bar's width (percent of the largest)."""
    largest = max((count for _, count in buckets), default=0) or 1
    return [(bound, count, round(100 * count / largest, 1)) for bound, count in buckets]


def _p2p_query(name: str, kind: str) -> str:
    if kind == "counter":
        return urlencode({"name": name, "agg": "rate", "group_by": "message_type"})
    return urlencode({"name": name, "agg": "avg", "group_by": "message_type"})


urlpatterns = [path("", pipelines, name="pipelines")]
