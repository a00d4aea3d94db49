"""The API error envelope always carries a message a person can read."""

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from apps.core.errors import api_exception_handler

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "exc, status, message",
    [(Http404(), 404, "Not found."), (PermissionDenied(), 403, "Forbidden.")],
)
def test_an_error_raised_without_text_still_has_a_message(exc, status, message):
    response = api_exception_handler(exc, {"request": None})

    assert response is not None and response.status_code == status
    assert response.data["error"]["message"] == message


def test_a_bare_404_of_the_api_says_not_found(viewer_client):
    response = viewer_client.get("/api/v1/testruns/999")

    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "not_found" and error["message"] == "Not found."
