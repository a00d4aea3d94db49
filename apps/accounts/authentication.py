"""DRF authentication by API key: `Authorization: Bearer <key>` or `X-API-Key: <key>`."""

from django.contrib.auth.models import AnonymousUser
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication

from apps.accounts import services


def key_from_headers(meta: dict) -> str | None:
    """Return the key text a request carries, or None when it carries none."""
    header_key = meta.get("HTTP_X_API_KEY", "").strip()
    if header_key:
        return header_key
    scheme, _, credentials = meta.get("HTTP_AUTHORIZATION", "").strip().partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return None


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request):
        raw = key_from_headers(request.META)
        if raw is None:
            return None
        key = services.api_key_authenticate(raw=raw)
        if key is None:
            raise exceptions.AuthenticationFailed("The API key is unknown, expired or revoked.")
        return (key.owner or AnonymousUser(), key)

    def authenticate_header(self, request) -> str:
        # Makes DRF answer 401 (not 403) to a request without credentials.
        return 'Bearer realm="aivmon"'
