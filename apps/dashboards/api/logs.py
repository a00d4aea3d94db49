"""GET /api/v1/logs/severity-counts: how many log records of each severity band, over time."""

import math
import re
import time

from django.http import QueryDict
from django.urls import path
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.params import invalid, time_ns
from apps.core.times import NS_PER_S
from apps.dashboards.queries import logs as queries
from apps.logs.api.params import log_query
from apps.logs.api.views import FILTER_PARAMETERS

DEFAULT_RANGE_S = 3600
MAX_BUCKETS = 500
MAX_STEP_S = 366 * 86400
_WHOLE = re.compile(r"[0-9]{1,9}")
# Bucket widths chosen automatically: the smallest giving at most TARGET_BUCKETS buckets.
STEPS_S = (1, 5, 10, 30, 60, 300, 600, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400)
TARGET_BUCKETS = 60


class CountLineSerializer(serializers.Serializer):
    # A declared field named like Field.label: DRF allows it, the stubs do not.
    label = serializers.CharField(  # type: ignore[assignment]
        help_text="The severity band: TRACE … FATAL or UNSPECIFIED."
    )
    color = serializers.CharField()
    points = serializers.ListField(
        child=serializers.ListField(child=serializers.IntegerField(), min_length=2, max_length=2),
        help_text="[bucket start in epoch seconds, records] for every bucket of the range.",
    )


class SeverityCountsSerializer(serializers.Serializer):
    step_s = serializers.IntegerField(help_text="The width of a bucket in seconds.")
    lines = CountLineSerializer(many=True)


class LogSeverityCountsView(APIView):
    """Count the log records matching the logs search in time buckets, one line per severity.

    Takes the filters of GET /api/v1/logs; answers a line for each band that has records.
    Without `start` the last hour is counted; `step` (seconds) is chosen for about 60 buckets
    unless given.
    """

    @extend_schema(
        operation_id="logs_severity_counts",
        parameters=[
            *FILTER_PARAMETERS,
            OpenApiParameter("step", int, description="Bucket width in seconds (1 or more)."),
        ],
        responses=SeverityCountsSerializer,
    )
    def get(self, request: Request) -> Response:
        params = _bounded(request.query_params)
        query = log_query(params)
        span_s = (query.end_ns - query.start_ns) / 1e9  # type: ignore[operator]
        step_s = _step(request.query_params.get("step"), span_s)
        lines = queries.severity_counts(query=query, step_s=step_s)
        return Response({"step_s": step_s, "lines": lines})


def _bounded(params: QueryDict) -> QueryDict:
    """Return the query string with both `start` and `end` (the hour before `end` or now)."""
    start_ns = time_ns(params, "start")
    end_ns = time_ns(params, "end")
    if end_ns is None:
        end_ns = max(time.time_ns(), start_ns or 0)
    if start_ns is None:
        start_ns = max(end_ns - DEFAULT_RANGE_S * NS_PER_S, 0)
    bounded = params.copy()
    bounded["start"], bounded["end"] = _seconds(start_ns), _seconds(end_ns)
    return bounded


def _seconds(ns: int) -> str:
    return f"{ns // NS_PER_S}.{ns % NS_PER_S:09d}"


def _step(raw: str | None, span_s: float) -> int:
    if not raw:
        step_s = next((s for s in STEPS_S if span_s / s <= TARGET_BUCKETS), STEPS_S[-1])
        return max(step_s, math.ceil(span_s / MAX_BUCKETS))
    if not _WHOLE.fullmatch(raw) or not 1 <= int(raw) <= MAX_STEP_S:
        raise invalid("step", f"Give a whole number of seconds from 1 to {MAX_STEP_S}.")
    if span_s / int(raw) > MAX_BUCKETS:
        raise invalid("step", f"At most {MAX_BUCKETS} buckets: widen the step or narrow the range.")
    return int(raw)


urlpatterns = [
    path("logs/severity-counts", LogSeverityCountsView.as_view(), name="logs-severity-counts"),
]
