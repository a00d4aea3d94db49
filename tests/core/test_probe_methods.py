"""/healthz, /readyz and /metrics answer GET and HEAD; other methods get a 405 envelope."""

import pytest
from django.test import Client

PROBES = ("/healthz", "/readyz", "/metrics")


@pytest.fixture
def csrf_client():
    """A client that, like a browser or curl, meets Django's CSRF checks."""
    return Client(enforce_csrf_checks=True)


@pytest.mark.django_db
@pytest.mark.parametrize("path", PROBES)
@pytest.mark.parametrize("method", ["post", "put", "patch", "delete", "options"])
def test_a_probe_refuses_a_writing_method_with_a_405_envelope(csrf_client, path, method):
    response = getattr(csrf_client, method)(path)

    assert response.status_code == 405
    assert response["Content-Type"] == "application/json"
    assert response["Allow"] == "GET, HEAD"
    assert response.json()["error"]["code"] == "method_not_allowed"
    assert set(response.json()["error"]) == {"code", "message", "details"}


@pytest.mark.django_db
def test_a_probe_refuses_a_post_with_an_api_key_too(csrf_client, make_key):
    response = csrf_client.post("/healthz", HTTP_AUTHORIZATION=f"Bearer {make_key('admin')}")

    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


@pytest.mark.django_db
@pytest.mark.parametrize("path", PROBES)
def test_a_probe_answers_head_as_get_without_a_body(csrf_client, path):
    got = csrf_client.get(path)

    head = csrf_client.head(path)

    assert head.status_code == got.status_code == 200
    assert head["Content-Type"] == got["Content-Type"]
    assert head.content == b""
