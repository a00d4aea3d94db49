"""Bad input gets a clear 4xx in the error envelope, never a 500 and never silent loss."""

import gzip

import orjson
import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import key_client

pytestmark = pytest.mark.django_db
ENDPOINT = "/api/v1/api-keys"


@pytest.fixture
def admin_key(make_key):
    return make_key("admin")


def _post(raw_key: str, body: bytes, content_type: str = "application/json", **extra):
    return key_client(raw_key).generic("POST", ENDPOINT, body, content_type=content_type, **extra)


def _error(response) -> dict:
    return response.json()["error"]


def test_json_nested_ten_thousand_deep_is_a_400(admin_key):
    response = _post(admin_key, b"[" * 10_000 + b"]" * 10_000)

    assert response.status_code == 400
    assert _error(response)["code"] == "parse_error"


def test_a_post_without_content_length_is_a_411(admin_key):
    # As with Transfer-Encoding: chunked, the body arrives with no declared length.
    response = _post(
        admin_key,
        b'{"name": "x", "scopes": ["read"]}',
        CONTENT_LENGTH="",
        HTTP_TRANSFER_ENCODING="chunked",
    )

    assert response.status_code == 411
    assert _error(response)["code"] == "length_required"


def test_a_declared_body_over_the_limit_is_a_413(admin_key, settings):
    settings.AIVMON_MAX_BODY_BYTES = 1024

    response = _post(admin_key, b"{" + b" " * 2000 + b"}")

    assert response.status_code == 413
    assert _error(response)["details"] == {"limit_bytes": 1024}


def test_a_gzip_body_is_inflated(admin_key):
    body = gzip.compress(orjson.dumps({"name": "zipped", "scopes": ["read"]}))

    response = _post(admin_key, body, HTTP_CONTENT_ENCODING="gzip")

    assert response.status_code == 201 and response.json()["name"] == "zipped"


def test_a_gzip_body_inflating_past_the_limit_is_a_413(admin_key, settings):
    settings.AIVMON_MAX_BODY_BYTES = 10_000
    bomb = gzip.compress(b'{"name": "' + b"a" * 1_000_000 + b'"}')

    response = _post(admin_key, bomb, HTTP_CONTENT_ENCODING="gzip")

    assert len(bomb) < 10_000 and response.status_code == 413


def test_a_corrupt_gzip_body_is_a_400(admin_key):
    response = _post(admin_key, b"\x1f\x8b not gzip", HTTP_CONTENT_ENCODING="gzip")

    assert response.status_code == 400


def test_a_truncated_gzip_body_is_a_400(admin_key):
    body = gzip.compress(orjson.dumps({"name": "zipped", "scopes": ["read"]}))[:-12]

    assert _post(admin_key, body, HTTP_CONTENT_ENCODING="gzip").status_code == 400


def test_an_unsupported_content_encoding_is_a_415(admin_key):
    response = _post(admin_key, b"{}", HTTP_CONTENT_ENCODING="br")

    assert response.status_code == 415


def test_a_wrong_content_type_is_a_415(admin_key):
    response = _post(admin_key, b"name=x", content_type="text/plain")

    assert response.status_code == 415
    assert _error(response)["code"] == "unsupported_media_type"


def test_an_unknown_api_path_is_a_404_in_the_envelope(admin_key):
    response = key_client(admin_key).get("/api/v1/no-such-thing")

    assert response.status_code == 404 and _error(response)["code"] == "not_found"


def test_a_wrong_method_is_a_405_in_the_envelope(admin_key):
    response = key_client(admin_key).delete(ENDPOINT)

    assert response.status_code == 405 and _error(response)["code"] == "method_not_allowed"


def test_malformed_json_is_a_400(admin_key):
    response = _post(admin_key, b'{"name": ')

    assert response.status_code == 400 and _error(response)["message"].startswith("Malformed")


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.one_of(
        st.binary(max_size=300),
        st.recursive(
            st.none()
            | st.booleans()
            | st.integers(-(2**63), 2**63 - 1)
            | st.text(max_size=20)
            | st.floats(allow_nan=False),
            lambda inner: st.lists(inner) | st.dictionaries(st.text(max_size=10), inner),
            max_leaves=20,
        ).map(orjson.dumps),
    )
)
def test_no_body_makes_a_server_error(admin_key, body):
    response = _post(admin_key, body)

    assert response.status_code in {201, 400}, response.content
    if response.status_code == 400:
        assert set(_error(response)) == {"code", "message", "details"}


def test_an_anonymous_post_is_a_401_not_a_csrf_403():
    response = Client().post(ENDPOINT, {}, content_type="application/json")

    assert response.status_code == 401


@pytest.mark.parametrize("length", ["1²", "-1", "ten", "1" * 40])
def test_a_content_length_that_is_not_a_number_is_a_400(admin_key, length):
    response = _post(admin_key, b"{}", CONTENT_LENGTH=length)

    assert response.status_code == 400
