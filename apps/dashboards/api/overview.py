"""GET /api/v1/dashboards/ingest-rates: items stored per minute or hour, by kind, for charts.

aivmon's own ingest counters live only in the Prometheus exposition (/metrics), not in the
queryable metric store, so the overview's chart counts the stored rows themselves.
The time window and the `{"lines": …}` answer are shared with the other dashboard endpoints.
"""

from datetime import UTC, datetime, timedelta

from django.http import QueryDict
from django.urls import path
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.params import TIME_HELP, invalid, time_range_ns
from apps.dashboards.queries import overview as queries

DEFAULT_RANGE = timedelta(hours=1)
WINDOW_PARAMETERS = [
    OpenApiParameter("start", str, description=f"From (default: an hour before end). {TIME_HELP}"),
    OpenApiParameter("end", str, description=f"Until (default: now). {TIME_HELP}"),
]
LINES_SCHEMA = inline_serializer(
    "DashboardLines",
    {
        "step_s": serializers.IntegerField(help_text="Bucket width: 60 or 3600 seconds."),
        "lines": inline_serializer(
            "DashboardLine",
            {
                "label": serializers.CharField(),
                "color": serializers.CharField(required=False),
                "points": serializers.ListField(
                    child=serializers.ListField(child=serializers.FloatField()),
                    help_text="[epoch_seconds, count] per bucket, zeros included.",
                ),
            },
            many=True,
        ),
    },
)


def time_window(params: QueryDict) -> tuple[datetime, datetime]:
    """`start` and `end` as datetimes (default: the last hour); at most 31 days apart."""
    start_ns, end_ns = time_range_ns(params)
    end = _moment(end_ns) if end_ns is not None else timezone.now()
    start = _moment(start_ns) if start_ns is not None else end - DEFAULT_RANGE
    if start > end:
        raise invalid("start", "start must not be after end.")
    if (end - start).total_seconds() > queries.MAX_RANGE_S:
        raise invalid("start", f"At most {queries.MAX_RANGE_S // 86400} days from start to end.")
    return start, end


def _moment(ns: int) -> datetime:
    return datetime.fromtimestamp(ns / queries.NS_PER_S, tz=UTC)


class IngestRatesView(APIView):
    """Spans, log records and security events stored per minute (or hour), by their timestamps."""

    @extend_schema(
        operation_id="dashboards_ingest_rates",
        parameters=WINDOW_PARAMETERS,
        responses=LINES_SCHEMA,
    )
    def get(self, request: Request) -> Response:
        start, end = time_window(request.query_params)
        return Response(queries.ingest_timeline(start=start, end=end))


urlpatterns = [
    path("dashboards/ingest-rates", IngestRatesView.as_view(), name="dashboards-ingest-rates"),
]
