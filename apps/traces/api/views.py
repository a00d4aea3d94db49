from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.listing import PAGE_PARAMETERS, page_response, page_schema
from apps.core.pagination import OpaqueCursorPagination
from apps.core.params import TIME_HELP
from apps.traces import selectors
from apps.traces.api import params
from apps.traces.api.serializers import TraceSerializer, TraceSummarySerializer, trace_json
from apps.traces.constants import SPAN_STATUSES


class TracePagination(OpaqueCursorPagination):
    ordering = ("-start_ns", "-trace_id")  # type: ignore[assignment]  # DRF takes a sequence


class TraceListView(APIView):
    """Search traces, newest first.

    `service`, `name`, `status` and any number of `attr.<key>=<value>` (a span attribute; "200"
    also matches the number 200, "true" the boolean) are span filters: a trace matches when one
    of its spans matches them all. Durations and times are the whole trace's.
    """

    @extend_schema(
        operation_id="traces_list",
        parameters=[
            OpenApiParameter(
                "service", str, description="A span of the trace is from this service."
            ),
            OpenApiParameter("name", str, description="A span of the trace has this name."),
            OpenApiParameter(
                "status",
                str,
                enum=list(SPAN_STATUSES),
                description="A span of the trace has this status.",
            ),
            OpenApiParameter(
                "min_duration_ms", float, description="The trace lasted at least this long."
            ),
            OpenApiParameter(
                "max_duration_ms", float, description="The trace lasted at most this long."
            ),
            OpenApiParameter(
                "start", str, description=f"The trace started at or after. {TIME_HELP}"
            ),
            OpenApiParameter(
                "end", str, description=f"The trace started at or before. {TIME_HELP}"
            ),
            *PAGE_PARAMETERS,
        ],
        responses=page_schema("TracePage", TraceSummarySerializer),
    )
    def get(self, request: Request) -> Response:
        query = params.trace_query(request.query_params)
        summaries = selectors.trace_summary_list(**query.as_kwargs())
        return page_response(
            request,
            self,
            summaries,
            paginator=TracePagination(),
            item_serializer=TraceSummarySerializer,
        )


class TraceDetailView(APIView):
    """One trace: its spans as a tree from the root(s); a span whose parent is missing is a root."""

    @extend_schema(operation_id="traces_retrieve", responses=TraceSerializer)
    def get(self, request: Request, trace_id: str) -> Response:
        trace = selectors.trace_get(trace_id=trace_id)
        if trace is None:
            raise NotFound("No trace with this id.")
        return Response(trace_json(trace.trace_id, trace.spans, trace.span_count, trace.truncated))
