"""The read-only admin base: every field read-only, no add, change, delete or actions."""

import pytest
from django.contrib import admin
from django.test import RequestFactory

from apps.audit.models import AuditEvent
from apps.core.admin import ReadOnlyAdmin


@pytest.fixture
def model_admin():
    return ReadOnlyAdmin(AuditEvent, admin.site)


@pytest.fixture
def admin_request(admin_user):
    request = RequestFactory().get("/admin/")
    request.user = admin_user
    return request


def test_a_superuser_may_only_look(model_admin, admin_request):
    assert model_admin.has_view_permission(admin_request)
    assert not model_admin.has_add_permission(admin_request)
    assert not model_admin.has_change_permission(admin_request)
    assert not model_admin.has_delete_permission(admin_request)


def test_every_field_is_read_only(model_admin, admin_request):
    fields = [field.name for field in AuditEvent._meta.fields]

    assert model_admin.get_readonly_fields(admin_request) == fields


def test_there_are_no_bulk_actions(model_admin, admin_request):
    assert model_admin.get_actions(admin_request) == {}
