"""Each role against each class of page and endpoint."""

import pytest

from tests.conftest import key_client

# (path, method, expected status for: anonymous, no role, viewer, operator, admin)
MATRIX = [
    ("/healthz", "get", (200, 200, 200, 200, 200)),
    ("/readyz", "get", (200, 200, 200, 200, 200)),
    ("/metrics", "get", (200, 200, 200, 200, 200)),
    ("/accounts/login/", "get", (200, 302, 302, 302, 302)),
    ("/ui/", "get", (302, 403, 200, 200, 200)),
    ("/admin/", "get", (302, 403, 403, 403, 200)),
    ("/admin/accounts/apikey/", "get", (302, 403, 403, 403, 200)),
    ("/admin/audit/auditevent/", "get", (302, 403, 403, 403, 200)),
    ("/api/schema/", "get", (200, 200, 200, 200, 200)),
    ("/api/docs/", "get", (200, 200, 200, 200, 200)),
    ("/api/v1/me", "get", (401, 200, 200, 200, 200)),
    ("/api/v1/api-keys", "get", (401, 403, 403, 403, 200)),
    ("/api/v1/audit", "get", (401, 403, 403, 403, 200)),
    ("/api/v1/metrics/series", "get", (401, 403, 200, 200, 200)),
    ("/api/v1/metrics/query?name=x", "get", (401, 403, 200, 200, 200)),
    ("/api/v1/traces", "get", (401, 403, 200, 200, 200)),
    ("/api/v1/logs", "get", (401, 403, 200, 200, 200)),
    ("/admin/ingest/scrubrule/", "get", (302, 403, 403, 403, 200)),
    ("/admin/core/retentionpolicy/", "get", (302, 403, 403, 403, 200)),
]
ROLES = ("anonymous", "no_role", "viewer", "operator", "admin")


def _client_for(role, request, client):
    fixture = {
        "anonymous": None,
        "no_role": "no_role_user",
        "viewer": "viewer_client",
        "operator": "operator_client",
        "admin": "admin_client",
    }[role]
    if fixture is None:
        return client
    if role == "no_role":
        client.force_login(request.getfixturevalue(fixture))
        return client
    return request.getfixturevalue(fixture)


@pytest.mark.django_db
@pytest.mark.parametrize("role_index", range(len(ROLES)), ids=ROLES)
@pytest.mark.parametrize(("path", "method", "expected"), MATRIX, ids=[row[0] for row in MATRIX])
def test_each_role_gets_the_right_answer(request, client, role_index, path, method, expected):
    signed_in = _client_for(ROLES[role_index], request, client)

    response = getattr(signed_in, method)(path)

    assert response.status_code == expected[role_index]


# (path, method, body, expected status for keys with: read, write, admin, ingest)
KEY_MATRIX = [
    ("/api/v1/me", "get", None, (200, 200, 200, 200)),
    ("/api/v1/api-keys", "get", None, (403, 403, 200, 403)),
    ("/api/v1/api-keys", "post", {"name": "k", "scopes": ["read"]}, (403, 403, 201, 403)),
    ("/api/v1/audit", "get", None, (403, 403, 200, 403)),
    ("/api/v1/traces", "get", None, (200, 403, 200, 403)),
    (
        "/api/v1/ingest/metrics",
        "post",
        {"points": [{"name": "a", "type": "gauge", "value": 1}]},
        (403, 403, 403, 200),
    ),
    ("/otlp/v1/metrics", "post", {}, (403, 403, 403, 200)),
]
SCOPES = ("read", "write", "admin", "ingest")


@pytest.mark.django_db
@pytest.mark.parametrize("scope_index", range(len(SCOPES)), ids=SCOPES)
@pytest.mark.parametrize(
    ("path", "method", "body", "expected"),
    KEY_MATRIX,
    ids=[f"{row[1]} {row[0]}" for row in KEY_MATRIX],
)
def test_each_key_scope_gets_the_right_answer(make_key, scope_index, path, method, body, expected):
    client = key_client(make_key(SCOPES[scope_index]))

    response = getattr(client, method)(path, body, content_type="application/json")

    assert response.status_code == expected[scope_index]


@pytest.mark.django_db
def test_a_denied_request_answers_in_the_error_envelope(viewer_client):
    body = viewer_client.get("/api/v1/audit").json()

    assert body["error"]["code"] == "permission_denied"
    assert body["error"]["message"]


@pytest.mark.django_db
def test_an_unauthenticated_request_is_told_how_to_authenticate(client):
    response = client.get("/api/v1/audit")

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["error"]["code"] == "not_authenticated"
