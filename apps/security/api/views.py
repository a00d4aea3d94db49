"""The security API: events, threats with their triage, and the advisory block list."""

from collections.abc import Callable

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.constants import Scope
from apps.accounts.permissions import ReadOrAdmin
from apps.accounts.selectors import request_actor
from apps.core.http import client_ip
from apps.core.listing import PAGE_PARAMETERS, page_response, page_schema
from apps.core.pagination import OpaqueCursorPagination
from apps.core.params import TIME_HELP
from apps.security import selectors, services
from apps.security.api import params
from apps.security.api.serializers import (
    BlockListAddSerializer,
    BlockListEntrySerializer,
    SecurityEventSerializer,
    ThreatSerializer,
    TriageSerializer,
)
from apps.security.constants import SEVERITY_BY_NAME, ThreatStatus
from apps.security.models import Threat

SEVERITY_HELP = f"At least this severity: {', '.join(SEVERITY_BY_NAME)}."


class EventPagination(OpaqueCursorPagination):
    ordering = ("-timestamp", "-id")  # type: ignore[assignment]  # DRF takes a sequence


class ThreatPagination(OpaqueCursorPagination):
    ordering = ("-last_seen", "-id")  # type: ignore[assignment]


class BlockListPagination(OpaqueCursorPagination):
    ordering = ("-created_at", "-id")  # type: ignore[assignment]


class SecurityEventListView(APIView):
    """Security events, newest first, with what the detectors found in each."""

    @extend_schema(
        operation_id="security_events_list",
        parameters=[
            OpenApiParameter("event_type", str, description="Only events of this type."),
            OpenApiParameter(
                "service", str, description="Only events from this service (aivmon: its own)."
            ),
            OpenApiParameter("user_id", str, description="Only events of this user."),
            OpenApiParameter("source_ip", str, description="Only events from this address."),
            OpenApiParameter("min_severity", str, description=SEVERITY_HELP),
            OpenApiParameter("start", str, description=f"At or after. {TIME_HELP}"),
            OpenApiParameter("end", str, description=f"At or before. {TIME_HELP}"),
            *PAGE_PARAMETERS,
        ],
        responses=page_schema("SecurityEventPage", SecurityEventSerializer),
    )
    def get(self, request: Request) -> Response:
        events = selectors.security_event_list(**params.event_query(request.query_params))
        return page_response(
            request,
            self,
            events,
            paginator=EventPagination(),
            item_serializer=SecurityEventSerializer,
        )


class ThreatListView(APIView):
    """Threats: detections aggregated by kind and IP or user, most recently seen first."""

    @extend_schema(
        operation_id="security_threats_list",
        parameters=[
            OpenApiParameter("status", str, enum=list(ThreatStatus.values)),
            OpenApiParameter(
                "kind",
                str,
                description="A threat kind (e.g. brute_force, off_hours) or a detector's name "
                "(brute_force, sql_injection, rate_limit, behavioral: all its kinds).",
            ),
            OpenApiParameter("min_severity", str, description=SEVERITY_HELP),
            *PAGE_PARAMETERS,
        ],
        responses=page_schema("ThreatPage", ThreatSerializer),
    )
    def get(self, request: Request) -> Response:
        threats = selectors.threat_list(**params.threat_query(request.query_params))
        return page_response(
            request, self, threats, paginator=ThreatPagination(), item_serializer=ThreatSerializer
        )


class _TriageView(APIView):
    """Change a threat's status (operator role or a key with the write scope); audited."""

    required_scope = Scope.WRITE
    triage: Callable[..., Threat]

    @extend_schema(request=TriageSerializer, responses=ThreatSerializer)
    def post(self, request: Request, threat_id: int) -> Response:
        form = TriageSerializer(data=request.data or {})
        form.is_valid(raise_exception=True)
        threat = selectors.threat_get(threat_id=threat_id)
        if threat is None:
            raise Http404
        threat = self.triage(
            threat=threat,
            actor=request_actor(request),
            ip=client_ip(request),
            note=form.validated_data["note"],
        )
        return Response(ThreatSerializer(threat).data)


class ThreatMitigateView(_TriageView):
    """Mark a threat mitigated (and its events); audited."""

    triage = staticmethod(services.threat_mitigate)


class ThreatFalsePositiveView(_TriageView):
    """Mark a threat a false positive and lift the block advice it caused; audited."""

    triage = staticmethod(services.threat_mark_false_positive)


class BlockListView(APIView):
    """The IPs and users integrations are advised to block now; admins add entries."""

    permission_classes = [ReadOrAdmin]

    @extend_schema(
        operation_id="security_blocklist_list",
        parameters=PAGE_PARAMETERS,
        responses=page_schema("BlockListPage", BlockListEntrySerializer),
    )
    def get(self, request: Request) -> Response:
        return page_response(
            request,
            self,
            selectors.blocklist_active(),
            paginator=BlockListPagination(),
            item_serializer=BlockListEntrySerializer,
        )

    @extend_schema(request=BlockListAddSerializer, responses={201: BlockListEntrySerializer})
    def post(self, request: Request) -> Response:
        form = BlockListAddSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        entry = services.blocklist_add(
            **form.validated_data,
            user=request.user if request.user.is_authenticated else None,
            actor=request_actor(request),
            ip=client_ip(request),
        )
        return Response(BlockListEntrySerializer(entry).data, status=status.HTTP_201_CREATED)


class BlockListEntryView(APIView):
    """Lift the advice to block one IP or user (admin); audited."""

    required_scope = Scope.ADMIN

    @extend_schema(responses={204: None})
    def delete(self, request: Request, entry_id: int) -> Response:
        entry = selectors.blocklist_entry_get(entry_id=entry_id)
        if entry is None:
            raise Http404
        services.blocklist_remove(entry=entry, actor=request_actor(request), ip=client_ip(request))
        return Response(status=status.HTTP_204_NO_CONTENT)
