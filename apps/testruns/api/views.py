"""The test-run API: runs of every suite, newest first, and one run with its failures."""

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.listing import PAGE_PARAMETERS, page_response, page_schema
from apps.core.pagination import OpaqueCursorPagination
from apps.core.params import text
from apps.testruns import selectors
from apps.testruns.api.serializers import RunDetailSerializer, RunSerializer


class RunPagination(OpaqueCursorPagination):
    ordering = ("-started_at", "-id")  # type: ignore[assignment]  # DRF takes a sequence


class RunListView(APIView):
    """Test runs, newest first, with totals, success rate and the figures derived at ingest."""

    @extend_schema(
        operation_id="testruns_list",
        parameters=[
            OpenApiParameter("suite", str, description="Only runs of this suite."),
            *PAGE_PARAMETERS,
        ],
        responses=page_schema("TestRunPage", RunSerializer),
    )
    def get(self, request: Request) -> Response:
        runs = selectors.run_list(suite=text(request.query_params, "suite"))
        return page_response(
            request, self, runs, paginator=RunPagination(), item_serializer=RunSerializer
        )


class RunDetailView(APIView):
    """One test run, with its failed and errored tests and their messages."""

    @extend_schema(operation_id="testruns_retrieve", responses=RunDetailSerializer)
    def get(self, request: Request, pk: int) -> Response:
        run = selectors.run_get(pk=pk)
        if run is None:
            raise Http404
        failures = selectors.case_failure_list(run=run)
        return Response(RunDetailSerializer(run, context={"failures": failures}).data)
