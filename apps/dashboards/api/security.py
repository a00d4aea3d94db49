"""GET /api/v1/dashboards/security-timeline: security events per minute or hour by severity."""

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.dashboards.api.overview import LINES_SCHEMA, WINDOW_PARAMETERS, time_window
from apps.dashboards.queries import security as queries


class SecurityTimelineView(APIView):
    """Security events counted per minute (ranges up to 6 h) or hour, one line per severity."""

    @extend_schema(
        operation_id="dashboards_security_timeline",
        parameters=WINDOW_PARAMETERS,
        responses=LINES_SCHEMA,
    )
    def get(self, request: Request) -> Response:
        start, end = time_window(request.query_params)
        return Response(queries.event_timeline(start=start, end=end))


urlpatterns = [
    path(
        "dashboards/security-timeline",
        SecurityTimelineView.as_view(),
        name="dashboards-security-timeline",
    ),
]
