"""The platform behind a real gunicorn, as `make run` serves it."""

import http.client
import sys

import orjson
import pytest

from apps.accounts import services
from tests.support.processes import ManagedProcess, answers_healthz, free_port, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def gunicorn(start_process, monkeypatch) -> tuple[ManagedProcess, int]:
    port = free_port()
    monkeypatch.setenv("AIVMON_PORT", str(port))
    monkeypatch.setenv("AIVMON_WEB_WORKERS", "1")
    process = start_process(
        "gunicorn", [sys.executable, "-m", "gunicorn", "aivmon.wsgi", "-c", "gunicorn.conf.py"]
    )
    wait_for(lambda: answers_healthz(port), what="gunicorn to answer", processes=[process])
    return process, port


def _request(
    port: int, method: str, path: str, *, headers: dict, body=None, chunked: bool = False
) -> tuple[int, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request(method, path, body=body, headers=headers, encode_chunked=chunked)
    response = connection.getresponse()
    return response.status, orjson.loads(response.read() or b"{}")


def test_a_chunked_body_is_read_whole_not_as_empty(gunicorn):
    # gunicorn de-chunks the body and marks its input as ending there (wsgi.input_terminated).
    _, port = gunicorn
    _, raw = services.api_key_create(name="admin", scopes=["admin"])
    chunks = iter([b'{"name": "chunked", ', b'"scopes": ["read"]}'])

    status, body = _request(
        port,
        "POST",
        "/api/v1/api-keys",
        body=chunks,
        chunked=True,
        headers={"Authorization": f"Bearer {raw}", "Content-Type": "application/json"},
    )

    assert status == 201 and body["name"] == "chunked"


def test_a_post_without_any_body_is_served(gunicorn):
    _, port = gunicorn
    key, raw = services.api_key_create(name="admin", scopes=["admin"])
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.putrequest("POST", f"/api/v1/api-keys/{key.pk}/revoke")
    connection.putheader("Authorization", f"Bearer {raw}")
    connection.endheaders()

    response = connection.getresponse()

    assert response.status == 200 and orjson.loads(response.read())["revoked_at"]


def test_readiness_and_metrics_answer_through_gunicorn(gunicorn):
    _, port = gunicorn

    ready, checks = _request(port, "GET", "/readyz", headers={})
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", "/metrics")
    metrics = connection.getresponse().read().decode()

    assert ready == 200 and checks["failed"] == []
    assert 'aivmon_http_requests_total{method="GET",route="/readyz",status="200"} 1.0' in metrics
