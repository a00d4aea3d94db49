"""GET /api/v1/dashboards/alert-timeline: alerts started per minute or hour by severity."""

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.dashboards.api.overview import LINES_SCHEMA, WINDOW_PARAMETERS, time_window
from apps.dashboards.queries import alerts as queries


class AlertTimelineView(APIView):
    """Alerts started per minute (ranges up to 6 h) or hour, one line per severity."""

    @extend_schema(
        operation_id="dashboards_alert_timeline",
        parameters=WINDOW_PARAMETERS,
        responses=LINES_SCHEMA,
    )
    def get(self, request: Request) -> Response:
        start, end = time_window(request.query_params)
        return Response(queries.alert_timeline(start=start, end=end))


urlpatterns = [
    path(
        "dashboards/alert-timeline", AlertTimelineView.as_view(), name="dashboards-alert-timeline"
    ),
]
