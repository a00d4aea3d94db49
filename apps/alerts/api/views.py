"""The alerts API: alerts and their lifecycle, silences, rules (with import/export), channels."""

from collections.abc import Callable

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.constants import Scope
from apps.accounts.permissions import HasScopeOrRole, ReadOrAdmin, allows
from apps.accounts.selectors import request_actor
from apps.alerts import rules_io, selectors, services
from apps.alerts.api import params
from apps.alerts.api.serializers import (
    AlertDetailSerializer,
    AlertSerializer,
    ChannelSerializer,
    DeliverySerializer,
    ReasonSerializer,
    RuleSerializer,
    SilenceSerializer,
)
from apps.alerts.constants import AlertState
from apps.alerts.evaluators.base import RuleParamsError
from apps.alerts.models import Alert
from apps.core.constants import SEVERITY_BY_NAME
from apps.core.listing import PAGE_PARAMETERS, page_response, page_schema
from apps.core.pagination import OpaqueCursorPagination
from apps.core.parsers import OrjsonParser, YamlParser, YamlRenderer


def _found(value, what: str):
    if value is None:
        raise NotFound(f"No such {what}.")
    return value


def _invalid(exc: services.AlertError | RuleParamsError) -> ValidationError:
    return ValidationError(exc.errors)


class AlertPagination(OpaqueCursorPagination):
    ordering = ("-starts_at", "-id")  # type: ignore[assignment]  # DRF takes a sequence


class AlertListView(APIView):
    """Alerts, newest first, with their notifications."""

    @extend_schema(
        operation_id="alerts_list",
        parameters=[
            OpenApiParameter("state", str, enum=list(AlertState.values)),
            OpenApiParameter(
                "severity", str, description=f"At least: {', '.join(SEVERITY_BY_NAME)}."
            ),
            *PAGE_PARAMETERS,
        ],
        responses=page_schema("AlertPage", AlertSerializer),
    )
    def get(self, request: Request) -> Response:
        alerts = selectors.alert_list(**params.alert_query(request.query_params))
        return page_response(
            request, self, alerts, paginator=AlertPagination(), item_serializer=AlertSerializer
        )


class AlertDetailView(APIView):
    """One alert with every change of state and every notification."""

    @extend_schema(operation_id="alerts_retrieve", responses=AlertDetailSerializer)
    def get(self, request: Request, alert_id: int) -> Response:
        return Response(
            AlertDetailSerializer(_found(selectors.alert_get(alert_id=alert_id), "alert")).data
        )


class _AlertActionView(APIView):
    """Change an alert's state (operator role or the write scope); audited."""

    required_scope = Scope.WRITE
    act: Callable[..., Alert]

    @extend_schema(request=ReasonSerializer, responses=AlertSerializer)
    def post(self, request: Request, alert_id: int) -> Response:
        form = ReasonSerializer(data=request.data or {})
        form.is_valid(raise_exception=True)
        alert = _found(selectors.alert_get(alert_id=alert_id), "alert")
        try:
            alert = self.act(
                alert=alert, actor=request_actor(request), reason=form.validated_data["reason"]
            )
        except services.AlertError as exc:
            raise _invalid(exc) from exc
        return Response(
            AlertSerializer(_found(selectors.alert_get(alert_id=alert.pk), "alert")).data
        )


class AlertAcknowledgeView(_AlertActionView):
    """Acknowledge a firing alert: no repeats or escalation until it resolves."""

    act = staticmethod(services.alert_acknowledge)


class AlertResolveView(_AlertActionView):
    """Resolve an active alert by hand."""

    act = staticmethod(services.alert_resolve)


class SilencePagination(OpaqueCursorPagination):
    ordering = ("-starts_at", "-id")  # type: ignore[assignment]


class ReadOrWriteToList(BasePermission):
    """Listing needs the read or the write scope (API.md lists silences under write); adding
    needs write."""

    message = HasScopeOrRole.message

    def has_permission(self, request, view) -> bool:
        if request.method in SAFE_METHODS:
            return allows(request, Scope.READ) or allows(request, Scope.WRITE)
        return allows(request, Scope.WRITE)


class SilenceListView(APIView):
    """Silences; operators add them (label matchers, start, end, comment)."""

    permission_classes = [ReadOrWriteToList]

    @extend_schema(
        operation_id="silences_list",
        parameters=PAGE_PARAMETERS,
        responses=page_schema("SilencePage", SilenceSerializer),
    )
    def get(self, request: Request) -> Response:
        return page_response(
            request,
            self,
            selectors.silence_list(),
            paginator=SilencePagination(),
            item_serializer=SilenceSerializer,
        )

    @extend_schema(request=SilenceSerializer, responses={201: SilenceSerializer})
    def post(self, request: Request) -> Response:
        form = SilenceSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        try:
            silence = services.silence_create(
                matchers=data["matchers"],
                starts_at=data.get("starts_at") or timezone.now(),
                ends_at=data["ends_at"],
                comment=data.get("comment", ""),
                user=request.user if request.user.is_authenticated else None,
                actor=request_actor(request),
            )
        except services.AlertError as exc:
            raise _invalid(exc) from exc
        return Response(SilenceSerializer(silence).data, status=status.HTTP_201_CREATED)


class SilenceDetailView(APIView):
    """End a silence now."""

    @extend_schema(responses={204: None})
    def delete(self, request: Request, silence_id: int) -> Response:
        silence = _found(selectors.silence_get(silence_id=silence_id), "silence")
        services.silence_expire(silence=silence, actor=request_actor(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class RulePagination(OpaqueCursorPagination):
    ordering = ("name", "id")  # type: ignore[assignment]


class RuleListView(APIView):
    """Alert rules; admins create them."""

    permission_classes = [ReadOrAdmin]

    @extend_schema(
        operation_id="alert_rules_list",
        parameters=PAGE_PARAMETERS,
        responses=page_schema("AlertRulePage", RuleSerializer),
    )
    def get(self, request: Request) -> Response:
        return page_response(
            request,
            self,
            selectors.rule_list(),
            paginator=RulePagination(),
            item_serializer=RuleSerializer,
        )

    @extend_schema(request=RuleSerializer, responses={201: RuleSerializer})
    def post(self, request: Request) -> Response:
        rule = _rule_save(request, None, partial=False)
        return Response(RuleSerializer(rule).data, status=status.HTTP_201_CREATED)


class RuleDetailView(APIView):
    """One alert rule; admins change and delete it."""

    permission_classes = [ReadOrAdmin]

    @extend_schema(operation_id="alert_rules_retrieve", responses=RuleSerializer)
    def get(self, request: Request, rule_id: int) -> Response:
        return Response(
            RuleSerializer(_found(selectors.rule_get(rule_id=rule_id), "alert rule")).data
        )

    @extend_schema(request=RuleSerializer, responses=RuleSerializer)
    def patch(self, request: Request, rule_id: int) -> Response:
        rule = _rule_save(
            request, _found(selectors.rule_get(rule_id=rule_id), "alert rule"), partial=True
        )
        return Response(RuleSerializer(rule).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, rule_id: int) -> Response:
        services.rule_delete(
            rule=_found(selectors.rule_get(rule_id=rule_id), "alert rule"),
            actor=request_actor(request),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


def _rule_save(request: Request, rule, *, partial: bool):
    form = RuleSerializer(rule, data=request.data, partial=partial)
    form.is_valid(raise_exception=True)
    fields = dict(form.validated_data)
    channels = fields.pop("channels", None)
    try:
        return services.rule_save(
            rule=rule, fields=fields, channels=channels, actor=request_actor(request)
        )
    except RuleParamsError as exc:
        raise ValidationError({"params": exc.errors}) from exc


class ChannelPagination(OpaqueCursorPagination):
    ordering = ("name", "id")  # type: ignore[assignment]


class ChannelListView(APIView):
    """Notification channels (admin); secrets are write-only."""

    required_scope = Scope.ADMIN

    @extend_schema(
        operation_id="channels_list",
        parameters=PAGE_PARAMETERS,
        responses=page_schema("ChannelPage", ChannelSerializer),
    )
    def get(self, request: Request) -> Response:
        return page_response(
            request,
            self,
            selectors.channel_list(),
            paginator=ChannelPagination(),
            item_serializer=ChannelSerializer,
        )

    @extend_schema(request=ChannelSerializer, responses={201: ChannelSerializer})
    def post(self, request: Request) -> Response:
        channel = _channel_save(request, None, partial=False)
        return Response(ChannelSerializer(channel).data, status=status.HTTP_201_CREATED)


class ChannelDetailView(APIView):
    """One channel (admin)."""

    required_scope = Scope.ADMIN

    @extend_schema(operation_id="channels_retrieve", responses=ChannelSerializer)
    def get(self, request: Request, channel_id: int) -> Response:
        return Response(
            ChannelSerializer(_found(selectors.channel_get(channel_id=channel_id), "channel")).data
        )

    @extend_schema(request=ChannelSerializer, responses=ChannelSerializer)
    def patch(self, request: Request, channel_id: int) -> Response:
        channel = _channel_save(
            request, _found(selectors.channel_get(channel_id=channel_id), "channel"), partial=True
        )
        return Response(ChannelSerializer(channel).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, channel_id: int) -> Response:
        channel = _found(selectors.channel_get(channel_id=channel_id), "channel")
        services.channel_delete(channel=channel, actor=request_actor(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


def _channel_save(request: Request, channel, *, partial: bool):
    form = ChannelSerializer(channel, data=request.data, partial=partial)
    form.is_valid(raise_exception=True)
    data = form.validated_data
    try:
        return services.channel_save(
            channel=channel,
            name=data.get("name", channel.name if channel else ""),
            kind=data.get("kind", channel.kind if channel else ""),
            config=data.get("config"),
            enabled=data.get("enabled", channel.enabled if channel else True),
            actor=request_actor(request),
        )
    except ValueError as exc:
        raise ValidationError({"config": [str(exc)]}) from exc


class ChannelTestView(APIView):
    """Send a test notification through the channel now; the attempt is in the ledger."""

    required_scope = Scope.ADMIN

    @extend_schema(request=None, responses=DeliverySerializer)
    def post(self, request: Request, channel_id: int) -> Response:
        channel = _found(selectors.channel_get(channel_id=channel_id), "channel")
        delivery = services.channel_test(channel=channel, actor=request_actor(request))
        return Response(DeliverySerializer(delivery).data)


class RuleExportView(APIView):
    """Every rule as configuration (JSON, or YAML with ?format=yaml); channels by name."""

    permission_classes = [ReadOrAdmin]

    renderer_classes = [JSONRenderer, YamlRenderer]

    @extend_schema(
        operation_id="alert_rules_export",
        parameters=[OpenApiParameter("format", str, enum=["json", "yaml"])],
        responses={200: dict},
    )
    def get(self, request: Request) -> Response:
        return Response(rules_io.rules_export())


class RuleImportView(APIView):
    """Create or update rules by name from an exported document (JSON or YAML), all or none."""

    required_scope = Scope.ADMIN
    parser_classes = [OrjsonParser, YamlParser]

    @extend_schema(request=dict, responses={200: dict})
    def post(self, request: Request) -> Response:
        try:
            counts = rules_io.rules_import(document=request.data, actor=request_actor(request))
        except rules_io.ImportError_ as exc:
            raise ValidationError(exc.errors) from exc
        return Response(counts)
