"""The series in the Django admin: listed and searchable, never edited."""

import pytest

from apps.metrics.models import Series
from apps.metrics.services import points_write
from tests.metrics.factories import point

pytestmark = pytest.mark.django_db


def test_an_admin_finds_series_by_name_and_label(admin_client):
    points_write(points=[point(labels={"route": "/login"}), point("queue_depth", type="gauge")])

    response = admin_client.get("/admin/metrics/series/", {"q": "/login"})

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [
        Series.objects.get(labels_text__contains="/login")
    ]


def test_series_cannot_be_added_changed_or_deleted_in_the_admin(admin_client):
    points_write(points=[point()])
    series = Series.objects.get()

    assert admin_client.get("/admin/metrics/series/add/").status_code == 403
    assert admin_client.post(f"/admin/metrics/series/{series.pk}/change/", {}).status_code == 403
    assert admin_client.post(f"/admin/metrics/series/{series.pk}/delete/", {}).status_code == 403
    assert Series.objects.filter(pk=series.pk).exists()
