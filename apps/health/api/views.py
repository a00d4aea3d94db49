"""The health API: component states and their changes, host figures, code scans, thresholds."""

import time
from datetime import UTC, datetime

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.permissions import ReadOrAdmin
from apps.core.listing import PAGE_PARAMETERS, page_response, page_schema
from apps.core.pagination import OpaqueCursorPagination
from apps.core.params import invalid, text
from apps.health import host, selectors, services
from apps.health.api.serializers import (
    CodeScanSerializer,
    ComponentStateSerializer,
    ComponentTransitionSerializer,
    HostFiguresSerializer,
    ScanRequestSerializer,
    ThresholdsSerializer,
)

COMPONENT_PARAMETER = OpenApiParameter("component", str, description="Only this component.")


class ByNamePagination(OpaqueCursorPagination):
    ordering = ("name",)  # type: ignore[assignment]  # DRF takes a sequence


class NewestPagination(OpaqueCursorPagination):
    ordering = ("-at", "-id")  # type: ignore[assignment]


class ByComponentPagination(OpaqueCursorPagination):
    ordering = ("component_id",)  # type: ignore[assignment]


class ScanHistoryPagination(OpaqueCursorPagination):
    ordering = ("-finished_at", "-id")  # type: ignore[assignment]


class ComponentListView(APIView):
    """Each checked part of aivmon: its latest status (healthy, degraded, unhealthy) and details."""

    @extend_schema(
        operation_id="health_components_list",
        parameters=[COMPONENT_PARAMETER, *PAGE_PARAMETERS],
        responses=page_schema("ComponentStatePage", ComponentStateSerializer),
    )
    def get(self, request: Request) -> Response:
        states = selectors.component_state_list(name=text(request.query_params, "component"))
        return page_response(
            request,
            self,
            states,
            paginator=ByNamePagination(),
            item_serializer=ComponentStateSerializer,
        )


class ComponentHistoryView(APIView):
    """Changes of the components' status, newest first."""

    @extend_schema(
        operation_id="health_components_history",
        parameters=[COMPONENT_PARAMETER, *PAGE_PARAMETERS],
        responses=page_schema("ComponentTransitionPage", ComponentTransitionSerializer),
    )
    def get(self, request: Request) -> Response:
        changes = selectors.component_transition_list(name=text(request.query_params, "component"))
        return page_response(
            request,
            self,
            changes,
            paginator=NewestPagination(),
            item_serializer=ComponentTransitionSerializer,
        )


class HostView(APIView):
    """The host's latest CPU, memory, disk, network and process figures (rates per second)."""

    @extend_schema(operation_id="health_host", responses=HostFiguresSerializer)
    def get(self, request: Request) -> Response:
        figures = selectors.host_figures_latest()
        if figures is None:  # nothing sampled lately: sample now (no rates without a previous)
            figures = host.host_figures(host.host_sample(ts_ms=int(time.time() * 1000)), None)
        figures["sampled_at"] = datetime.fromtimestamp(figures["ts_ms"] / 1000, UTC)
        return Response(HostFiguresSerializer(figures).data)


class CodeReportView(APIView):
    """Code health: the latest scan of each component (GET); scan now (POST, admins)."""

    permission_classes = [ReadOrAdmin]

    @extend_schema(
        operation_id="health_code_list",
        parameters=PAGE_PARAMETERS,
        responses=page_schema("CodeScanPage", CodeScanSerializer),
    )
    def get(self, request: Request) -> Response:
        return page_response(
            request,
            self,
            selectors.code_scan_latest_list(),
            paginator=ByComponentPagination(),
            item_serializer=CodeScanSerializer,
        )

    @extend_schema(
        operation_id="health_code_scan",
        request=ScanRequestSerializer,
        responses={201: inline_serializer("CodeScans", {"results": CodeScanSerializer(many=True)})},
    )
    def post(self, request: Request) -> Response:
        form = ScanRequestSerializer(data=request.data or {})
        form.is_valid(raise_exception=True)
        name = form.validated_data.get("component")
        if name is not None and selectors.code_component_get(name=name) is None:
            raise invalid("component", "No code component of that name.")
        scans = services.code_scans_run(names=None if name is None else [name])
        body = {"results": CodeScanSerializer(scans, many=True).data}
        return Response(body, status=status.HTTP_201_CREATED)


class CodeHistoryView(APIView):
    """Every scan kept, newest first: the trend of a component's code health."""

    @extend_schema(
        operation_id="health_code_history",
        parameters=[COMPONENT_PARAMETER, *PAGE_PARAMETERS],
        responses=page_schema("CodeScanHistoryPage", CodeScanSerializer),
    )
    def get(self, request: Request) -> Response:
        scans = selectors.code_scan_list(component=text(request.query_params, "component"))
        return page_response(
            request,
            self,
            scans,
            paginator=ScanHistoryPagination(),
            item_serializer=CodeScanSerializer,
        )


class ThresholdsView(APIView):
    """Where each component check turns degraded and unhealthy (read: any role; change: admin)."""

    permission_classes = [ReadOrAdmin]

    @extend_schema(operation_id="health_thresholds_get", responses=ThresholdsSerializer)
    def get(self, request: Request) -> Response:
        return Response(ThresholdsSerializer(selectors.thresholds_get()).data)

    @extend_schema(
        operation_id="health_thresholds_update",
        request=ThresholdsSerializer,
        responses=ThresholdsSerializer,
    )
    def patch(self, request: Request) -> Response:
        form = ThresholdsSerializer(selectors.thresholds_get(), data=request.data, partial=True)
        form.is_valid(raise_exception=True)
        return Response(
            ThresholdsSerializer(services.thresholds_update(**form.validated_data)).data
        )
