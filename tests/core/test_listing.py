"""Paged list endpoints: a page of results with the cursor of the next one."""

import pytest
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from apps.core.listing import PAGE_PARAMETERS, page_response, page_schema
from apps.core.models import RetentionPolicy
from apps.core.pagination import OpaqueCursorPagination

pytestmark = pytest.mark.django_db


class PolicySerializer(serializers.ModelSerializer):
    class Meta:
        model = RetentionPolicy
        fields = ["key"]


def _page(query: dict[str, str]) -> dict:
    request = Request(APIRequestFactory().get("/policies", query))
    policies = RetentionPolicy.objects.all()
    response = page_response(
        request,
        APIView(),
        policies,
        paginator=OpaqueCursorPagination(),
        item_serializer=PolicySerializer,
    )
    return response.data


def test_a_page_holds_the_items_asked_for_and_the_next_cursor():
    first = _page({"limit": "2"})
    newest = list(RetentionPolicy.objects.order_by("-id").values_list("key", flat=True)[:2])

    assert [item["key"] for item in first["results"]] == newest
    assert isinstance(first["next"], str)


def test_the_next_cursor_reaches_the_following_page():
    first = _page({"limit": "2"})
    second = _page({"limit": "2", "cursor": first["next"]})
    third = list(RetentionPolicy.objects.order_by("-id").values_list("key", flat=True)[2:4])

    assert [item["key"] for item in second["results"]] == third


def test_the_page_schema_has_results_and_a_nullable_next():
    schema = page_schema("PolicyPage", PolicySerializer)

    assert set(schema.fields) == {"results", "next"}
    assert schema.fields["next"].allow_null


def test_page_parameters_are_limit_and_cursor():
    assert [parameter.name for parameter in PAGE_PARAMETERS] == ["limit", "cursor"]
