from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.audit import selectors
from apps.audit.api.serializers import AuditEventSerializer, ChainReportSerializer
from apps.core.pagination import OpaqueCursorPagination


class AuditListView(APIView):
    """The audit log, newest first, with the result of checking its hash chain (admin only)."""

    required_scope = "admin"

    @extend_schema(
        parameters=[
            OpenApiParameter("action", str, description="Only events of this action."),
            OpenApiParameter("limit", int, description="Page size, 1 to 1000 (default 100)."),
            OpenApiParameter("cursor", str, description="The `next` of the previous page."),
        ],
        responses=inline_serializer(
            "AuditPage",
            {
                "results": AuditEventSerializer(many=True),
                "next": serializers.CharField(allow_null=True),
                "chain": ChainReportSerializer(),
            },
        ),
    )
    def get(self, request: Request) -> Response:
        paginator = OpaqueCursorPagination()
        events = selectors.audit_event_list(action=request.query_params.get("action"))
        page = paginator.paginate_queryset(events, request, view=self)
        body = {
            "results": AuditEventSerializer(page, many=True).data,
            "next": paginator.next_cursor(),
            "chain": selectors.audit_chain_verify().as_dict(),
        }
        return Response(body)
