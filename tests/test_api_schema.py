"""The OpenAPI schema, its Swagger UI, and schemathesis against the API in-process (no server).

schemathesis (pinned 4.32.5) loads the schema from the WSGI application when this module is
imported. The lazy `schemathesis.pytest.from_fixture` loader would avoid that, but it fails on
pytest 9.2 (it sets `Function._nodeid`, which pytest 9.2 no longer has). Serving the schema
needs neither the database nor Redis.
"""

import re

import orjson
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from aivmon.wsgi import application
from apps.accounts import services

DOCUMENTED_PATHS = {"/api/v1/audit", "/api/v1/api-keys", "/api/v1/me"}


@pytest.mark.parametrize(
    ("query", "headers"),
    [("?format=json", {}), ("", {"HTTP_ACCEPT": "application/json"})],
    ids=["format-query", "accept-header"],
)
def test_schema_is_an_openapi_3_document_listing_the_api(client, query, headers):
    response = client.get(f"/api/schema/{query}", **headers)

    assert response.status_code == 200
    assert "json" in response["Content-Type"]
    document = orjson.loads(response.content)
    assert document["openapi"].startswith("3.")
    assert document["info"]["title"] == "aivmon API"
    assert set(document["paths"]) >= DOCUMENTED_PATHS


def test_schema_defaults_to_yaml(client):
    response = client.get("/api/schema/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi")
    assert response.content.startswith(b"openapi: 3.")


def test_swagger_ui_is_served_from_local_assets(client, db):
    # `db`: closing a response runs close_old_connections, which checks the connection when an
    # earlier test left it marked with an error; without database access that check fails.
    response = client.get("/api/docs/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert "SwaggerUIBundle" in html
    assert not re.search(r"https?://", html), "the page names a remote URL"
    assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
    assert any(asset.endswith("swagger-ui-bundle.js") for asset in assets)
    assert any(asset.endswith("swagger-ui.css") for asset in assets)
    for asset in assets:
        assert asset.startswith("/static/drf_spectacular_sidecar/"), asset
        asset_response = client.get(asset)
        assert asset_response.status_code == 200, asset
        asset_response.close()


# --- schemathesis ----------------------------------------------------------------------------

schema = schemathesis.openapi.from_wsgi("/api/schema/", application)
# Every request carries a real admin key (below): no generated Authorization / X-API-Key values.
schema.config.generation.update(with_security_parameters=False)

HYPOTHESIS = settings(
    max_examples=25,
    deadline=None,
    database=None,  # no .hypothesis/ directory in the checkout
    # The database (and the API keys in it) is shared by the examples of one operation.
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
CONFORMANCE_CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def _admin_key_headers() -> dict[str, str]:
    """Authorization for a new key with every scope.

    A new key per example: the revoke operation may revoke an earlier example's key.
    """
    _, raw = services.api_key_create(name="s", scopes=["read", "write", "admin", "ingest"])
    return {"Authorization": f"Bearer {raw}"}


@HYPOTHESIS
@schema.parametrize()
def test_api_never_answers_5xx(case, transactional_db):
    case.call_and_validate(headers=_admin_key_headers(), checks=[not_a_server_error])


@HYPOTHESIS
@schema.parametrize()
def test_api_answers_conform_to_the_schema(case, transactional_db):
    case.call_and_validate(headers=_admin_key_headers(), checks=CONFORMANCE_CHECKS)
