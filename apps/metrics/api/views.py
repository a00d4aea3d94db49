from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.pagination import OpaqueCursorPagination
from apps.metrics import selectors
from apps.metrics.api import params
from apps.metrics.api.serializers import MetricQueryAnswerSerializer, SeriesSerializer
from apps.metrics.constants import AGGS

LABELS_NOTE = "Filter by label with `label.<name>=<value>` (repeatable, exact match)."
SERIES_DESCRIPTION = f"The matching series, oldest first. {LABELS_NOTE}"
QUERY_DESCRIPTION = f"""A metric aggregated per step over [start, end). {LABELS_NOTE}

Steps start at `start`; each point is `[t, value]` with t the step's start in epoch seconds;
steps without data are left out. avg, min, max, sum and count aggregate the values of a step;
rate is the per-second increase (counter resets handled; delta counters: sum / step);
p50 to p99 come from histogram buckets (as Prometheus' histogram_quantile), else summary
quantiles, else raw values (linear interpolation). Without `group_by` each series is answered
separately; with it, series are merged by that label's value. At most 11,000 points a series.

Ranges over 2 days, or starting before the raw retention, read hourly rollups (up to 30 days)
or daily ones, and raw points after the last rollup: steps are then whole hours (days) from
the start of the first, a finer step becomes an hour (a day), and percentiles of raw values
come from log-bucket sketches (within ~9 %)."""
FILTERS = [
    OpenApiParameter("name", str, description="Metric name."),
    OpenApiParameter("service", str, description="Only series of this service."),
]
QUERY_PARAMETERS = [
    OpenApiParameter("name", str, required=True, description="Metric name."),
    OpenApiParameter(
        "start", str, description="Epoch seconds or RFC 3339; default: an hour before end."
    ),
    OpenApiParameter("end", str, description="Epoch seconds or RFC 3339; default: now."),
    OpenApiParameter(
        "step", str, description="Seconds per point (≥ 1; also 5m, 1h); default: ~300 points."
    ),
    OpenApiParameter("agg", str, enum=list(AGGS), description="Aggregation (default avg)."),
    OpenApiParameter("service", str, description="Only series of this service."),
    OpenApiParameter("group_by", str, description="Merge series by this label's value."),
]


class SeriesPagination(OpaqueCursorPagination):
    ordering = "id"


class SeriesListView(ListAPIView):
    """The series of the metrics: name, type, service, labels and when last seen."""

    serializer_class = SeriesSerializer
    pagination_class = SeriesPagination

    def get_queryset(self):
        query = self.request.query_params
        return selectors.series_list(
            name=params.text(query, "name"),
            service=params.text(query, "service"),
            labels=params.label_filters(query),
        )

    @extend_schema(parameters=FILTERS, description=SERIES_DESCRIPTION)
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)


class MetricQueryView(APIView):
    """A metric aggregated per step over a time range: one series per series or group_by value."""

    @extend_schema(
        parameters=QUERY_PARAMETERS,
        responses=MetricQueryAnswerSerializer,
        description=QUERY_DESCRIPTION,
    )
    def get(self, request: Request) -> Response:
        query = params.metric_query(request.query_params)
        try:
            answer = selectors.metric_query(query=query)
        except selectors.QueryError as exc:
            raise ValidationError({exc.field: [exc.message]}) from exc
        series = [
            {"name": s.name, "service": s.service, "labels": s.labels, "points": s.points}
            for s in answer
        ]
        return Response({"series": series})
