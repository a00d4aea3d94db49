from datetime import timedelta

from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts import selectors, services
from apps.accounts.api.serializers import (
    ApiKeyCreatedSerializer,
    ApiKeyCreateSerializer,
    ApiKeySerializer,
    WhoAmISerializer,
)
from apps.accounts.constants import SCOPES, Scope
from apps.accounts.models import ApiKey
from apps.accounts.permissions import IsAuthenticatedPrincipal


class WhoAmIView(APIView):
    """Who the credentials belong to, with their role or scopes."""

    permission_classes = [IsAuthenticatedPrincipal]

    @extend_schema(responses=WhoAmISerializer)
    def get(self, request: Request) -> Response:
        key = request.auth if isinstance(request.auth, ApiKey) else None
        user = request.user if request.user.is_authenticated else None
        role = selectors.user_role(user)
        body = {
            "kind": "api_key" if key else "user",
            "username": user.get_username() if user else None,
            "role": None if key else role,
            "key_name": key.name if key else None,
            "scopes": sorted(key.scopes)
            if key
            else [scope for scope in SCOPES if selectors.role_allows_scope(role, scope)],
        }
        return Response(WhoAmISerializer(body).data)


class ApiKeyListCreateView(ListAPIView):
    """List API keys, or create one: the full key is in this one answer only (admin)."""

    required_scope = Scope.ADMIN
    serializer_class = ApiKeySerializer

    def get_queryset(self):
        return selectors.api_key_list()

    @extend_schema(request=ApiKeyCreateSerializer, responses={201: ApiKeyCreatedSerializer})
    def post(self, request: Request) -> Response:
        form = ApiKeyCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        days = form.validated_data.get("expires_days")
        try:
            key, raw = services.api_key_create(
                name=form.validated_data["name"],
                scopes=form.validated_data["scopes"],
                owner=request.user if request.user.is_authenticated else None,
                expires_at=timezone.now() + timedelta(days=days) if days else None,
                actor=selectors.request_actor(request),
            )
        except services.AccountError as exc:
            raise ValidationError({"non_field_errors": [str(exc)]}) from exc
        key.key = raw  # type: ignore[attr-defined]
        return Response(ApiKeyCreatedSerializer(key).data, status=status.HTTP_201_CREATED)


class ApiKeyRevokeView(APIView):
    """Revoke an API key; revoking a revoked key changes nothing (admin)."""

    required_scope = Scope.ADMIN

    @extend_schema(request=None, responses=ApiKeySerializer)
    def post(self, request: Request, pk: int) -> Response:
        key = get_object_or_404(selectors.api_key_list(), pk=pk)
        services.api_key_revoke(key=key, actor=selectors.request_actor(request))
        return Response(ApiKeySerializer(key).data)
