"""Test runs: per-suite success-rate trend, latest runs, newly slower and flaky tests, module
rates; one run with its failures."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils.http import urlencode

from apps.dashboards.access import viewer_page
from apps.dashboards.pages import PageEntry
from apps.dashboards.queries import testruns as queries

PAGE = PageEntry("testruns", "Test runs", 80)

CHART_RUNS = 1000


@viewer_page
def testruns(request: HttpRequest) -> HttpResponse:
    """Every suite's latest run and figures, the trend of their success rates, recent runs."""
    suite = request.GET.get("suite") or None
    suites = queries.suite_names()
    context = {
        "suite": suite,
        "suites": suites,
        "figures": queries.suite_figures(suite=suite) if suites else None,
        "recent": queries.recent_runs(suite=suite) if suites else [],
        "chart_src": "/api/v1/testruns?"
        + urlencode([("limit", str(CHART_RUNS)), *([("suite", suite)] if suite else [])]),
    }
    return render(request, "dashboards/testruns.html", context)


@viewer_page
def testrun(request: HttpRequest, pk: int) -> HttpResponse:
    """One run: totals, module rates, slowest, newly slower and flaky tests, failures."""
    found = queries.run_detail(pk=pk)
    if found is None:
        return render(request, "dashboards/testruns_missing.html", {"pk": pk}, status=404)
    run, failures = found
    return render(request, "dashboards/testruns_detail.html", {"run": run, "failures": failures})


urlpatterns = [
    path("", testruns, name="testruns"),
    path("<int:pk>/", testrun, name="testrun"),
]
