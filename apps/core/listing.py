"""Paged list endpoints: one page answered, and the parts of its OpenAPI description."""

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.pagination import OpaqueCursorPagination

PAGE_PARAMETERS = [
    OpenApiParameter("limit", int, description="Page size, 1 to 1000 (default 100)."),
    OpenApiParameter("cursor", str, description="The `next` of the previous page."),
]


def page_schema(name: str, item_serializer: type[serializers.Serializer]) -> serializers.Serializer:
    """Return the documented shape of a page: {"results": [items], "next": cursor or null}."""
    return inline_serializer(
        name,
        {"results": item_serializer(many=True), "next": serializers.CharField(allow_null=True)},
    )


def page_response(
    request: Request,
    view: APIView,
    queryset: QuerySet,
    *,
    paginator: OpaqueCursorPagination,
    item_serializer: type[serializers.Serializer],
) -> Response:
    """Answer the page of `queryset` the request asks for, each item shown by `item_serializer`."""
    page = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(item_serializer(page, many=True).data)
