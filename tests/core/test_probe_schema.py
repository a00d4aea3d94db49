"""The OpenAPI schema describes the probes as well as the API."""

import orjson
import pytest


@pytest.fixture
def document(client):
    return orjson.loads(client.get("/api/schema/?format=json").content)


def test_schema_describes_the_probes_without_credentials(document):
    for path in ("/healthz", "/readyz", "/metrics"):
        assert document["paths"][path]["get"]["security"] == []


def test_schema_documents_readyz_unavailable_and_the_error_envelope_on_405(document):
    responses = document["paths"]["/readyz"]["get"]["responses"]

    assert {"200", "503"} <= set(responses)
    assert responses["405"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"
    }


def test_schema_documents_metrics_as_plain_text(document):
    content = document["paths"]["/metrics"]["get"]["responses"]["200"]["content"]

    assert list(content) == ["text/plain"]
