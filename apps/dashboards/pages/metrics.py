"""Performance analytics: a metric explorer whose form lives in the URL, host resource trends
and a capacity projection."""

import time
from typing import Any

from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.urls import path

from apps.dashboards.access import viewer_page
from apps.dashboards.pages import PageEntry
from apps.dashboards.queries import metrics as queries
from apps.metrics.constants import AGGS, PERCENTILE_AGGS

PAGE = PageEntry("metrics", "Performance", 30)

PERCENTILE_TYPES = ("histogram", "summary")
FORM_FIELDS = ("name", "service", "agg", "step", "group_by")


@viewer_page
def metrics(request: HttpRequest) -> HttpResponse:
    """The explorer for the metric in the URL, resource trends and the capacity projection."""
    form = _form(request.GET)
    names = queries.metric_name_list()
    types = {each.name: each.type for each in names}
    if form["name"] not in types and names:
        form["name"] = names[0].name
    labels = {**queries.parse_labels(form["labels"]), **_label_params(request.GET)}
    api_query = queries.query_string({k: form[k] for k in FORM_FIELDS}, labels)
    percentile_query = queries.query_string(
        {k: form[k] for k in ("name", "service", "step")}, labels
    )
    range_s = queries.RANGES[form["range"]]
    now_s = time.time()
    usage, projection = queries.resource_projection(
        resource=form["resource"],
        start_s=now_s - range_s,
        end_s=now_s,
        threshold=form["threshold"] / 100,
    )
    context: dict[str, Any] = {
        "form": form,
        "names": names,
        "aggs": AGGS,
        "ranges": queries.RANGES,
        "resources": queries.RESOURCES,
        "range_s": range_s,
        "api_query": api_query,
        "percentile_query": percentile_query,
        "show_percentiles": types.get(form["name"]) in PERCENTILE_TYPES
        or form["agg"] in PERCENTILE_AGGS,
        "projection": queries.projection_shown(projection),
        "projection_samples": len(usage),
        "projection_query": f"resource={form['resource']}&threshold={form['threshold']:g}",
    }
    return render(request, "dashboards/metrics.html", context)


def _form(params: QueryDict) -> dict[str, Any]:
    form: dict[str, Any] = {key: params.get(key, "").strip() for key in (*FORM_FIELDS, "labels")}
    if form["agg"] not in AGGS:
        form["agg"] = "avg"
    form["range"] = queries.range_key(params.get("range"))
    resource = params.get("resource", "")
    form["resource"] = resource if resource in queries.RESOURCES else "disk"
    form["threshold"] = _threshold(params.get("threshold", ""))
    return form


def _threshold(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        return queries.DEFAULT_THRESHOLD * 100
    return value if 1 <= value <= 100 else queries.DEFAULT_THRESHOLD * 100


def _label_params(params: QueryDict) -> dict[str, str]:
    """Filters given as label.<k>=<v> in the page URL too, as the API takes them."""
    return {
        key[len("label.") :]: params.get(key, "")
        for key in params
        if key.startswith("label.") and len(key) > len("label.")
    }


urlpatterns = [path("", metrics, name="metrics")]
