"""Chart data for the metric explorer that no other endpoint answers: a metric's p50, p90 and
p99 together, and a host resource's usage with its capacity projection."""

import time

from django.urls import path
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.params import NUMBER, TIME_HELP, invalid
from apps.dashboards.queries import metrics as queries
from apps.metrics import selectors as metric_selectors
from apps.metrics.api import params as metric_params
from apps.metrics.api.views import QUERY_PARAMETERS

MAX_HORIZON_DAYS = 3650


def _line_fields(prefix: str) -> serializers.Serializer:
    return inline_serializer(
        f"{prefix}Line",
        {
            "label": serializers.CharField(),
            "color": serializers.CharField(required=False),
            "points": serializers.ListField(
                child=serializers.ListField(child=serializers.FloatField(), min_length=2)
            ),
        },
        many=True,
    )


class MetricPercentilesView(APIView):
    """A metric's p50, p90 and p99 per step, every matched series merged: {"lines": […]}."""

    @extend_schema(
        operation_id="dashboards_metric_percentiles",
        parameters=[p for p in QUERY_PARAMETERS if p.name not in ("agg", "group_by")],
        responses=inline_serializer(
            "MetricPercentileLines", {"lines": _line_fields("MetricPercentile")}
        ),
    )
    def get(self, request: Request) -> Response:
        query = metric_params.metric_query(request.query_params)
        try:
            lines = queries.percentile_lines(query=query)
        except metric_selectors.QueryError as exc:
            raise ValidationError({exc.field: [exc.message]}) from exc
        return Response({"lines": lines})


class CapacityProjectionView(APIView):
    """A host resource's usage (percent), its least-squares trend and where it meets a threshold."""

    @extend_schema(
        operation_id="dashboards_capacity_projection",
        parameters=[
            OpenApiParameter(
                "resource", str, enum=list(queries.RESOURCES), description="Default disk."
            ),
            OpenApiParameter("start", str, description=f"Default a day before end. {TIME_HELP}"),
            OpenApiParameter("end", str, description=f"Default now. {TIME_HELP}"),
            OpenApiParameter("threshold", float, description="Percent used, 1–100; default 90."),
            OpenApiParameter("horizon_days", float, description="How far ahead; default 30."),
        ],
        responses=inline_serializer(
            "CapacityProjection",
            {
                "lines": _line_fields("CapacityProjection"),
                "status": serializers.CharField(),
                "threshold": serializers.FloatField(),
                "slope_per_day": serializers.FloatField(),
                "reaches_at": serializers.FloatField(allow_null=True),
            },
        ),
    )
    def get(self, request: Request) -> Response:
        query = request.query_params
        resource = query.get("resource") or "disk"
        if resource not in queries.RESOURCES:
            raise invalid("resource", f"resource must be one of {', '.join(queries.RESOURCES)}.")
        end_s = metric_params.time_s(query, "end") or time.time()
        start_s = metric_params.time_s(query, "start") or end_s - queries.DAY_S
        threshold = _number(query, "threshold", 90, 1, 100) / 100
        horizon_days = _number(query, "horizon_days", 30, 0, MAX_HORIZON_DAYS)
        try:
            points, found = queries.resource_projection(
                resource=resource,
                start_s=start_s,
                end_s=end_s,
                threshold=threshold,
                horizon_s=horizon_days * queries.DAY_S,
            )
        except metric_selectors.QueryError as exc:
            raise ValidationError({exc.field: [exc.message]}) from exc
        return Response(
            {
                "lines": queries.projection_lines(points, found, now_s=end_s),
                "status": found.status,
                "threshold": found.threshold,
                "slope_per_day": found.slope_per_day,
                "reaches_at": found.reaches_at_s,
            }
        )


def _number(query, key: str, default: float, low: float, high: float) -> float:
    raw = query.get(key)
    if not raw:
        return default
    if not NUMBER.fullmatch(raw) or not low <= float(raw) <= high:
        raise invalid(key, f"{key} must be a number from {low} to {high}.")
    return float(raw)


# Under dashboards/ so that they never meet the apps' own paths.
urlpatterns = [
    path(
        "dashboards/metrics/percentiles",
        MetricPercentilesView.as_view(),
        name="dashboards-metric-percentiles",
    ),
    path(
        "dashboards/metrics/projection",
        CapacityProjectionView.as_view(),
        name="dashboards-capacity-projection",
    ),
]
