from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.listing import PAGE_PARAMETERS, page_response, page_schema
from apps.core.pagination import OpaqueCursorPagination
from apps.core.params import TIME_HELP
from apps.logs import selectors
from apps.logs.api import params
from apps.logs.api.serializers import LogRecordSerializer

# The search filters of GET /api/v1/logs (also taken by the dashboards' severity counts).
FILTER_PARAMETERS = [
    OpenApiParameter("q", str, description="Words the body must all contain."),
    OpenApiParameter("service", str, description="Only records from this service."),
    OpenApiParameter(
        "min_severity", str, description="TRACE, DEBUG, INFO, WARN, ERROR, FATAL or a number 0-24."
    ),
    OpenApiParameter("trace_id", str, description="Only records of this trace."),
    OpenApiParameter("start", str, description=f"At or after. {TIME_HELP}"),
    OpenApiParameter("end", str, description=f"At or before. {TIME_HELP}"),
]


class LogPagination(OpaqueCursorPagination):
    ordering = ("-ts_ns", "-id")  # type: ignore[assignment]  # DRF takes a sequence


class LogListView(APIView):
    """Search log records, newest first.

    `q` is plain words, all required, any letter case (punctuation only separates words).
    `attr.<key>=<value>` (any number) matches a record attribute; "200" also matches the
    number 200, "true" the boolean.
    """

    @extend_schema(
        operation_id="logs_list",
        parameters=[
            *FILTER_PARAMETERS,
            *PAGE_PARAMETERS,
        ],
        responses=page_schema("LogPage", LogRecordSerializer),
    )
    def get(self, request: Request) -> Response:
        query = params.log_query(request.query_params)
        records = selectors.log_record_list(**query.as_kwargs())
        return page_response(
            request, self, records, paginator=LogPagination(), item_serializer=LogRecordSerializer
        )
