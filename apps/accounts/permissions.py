"""One permission class for the whole API: a key needs the view's scope; a person, its role."""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from apps.accounts import selectors
from apps.accounts.constants import Scope
from apps.accounts.models import ApiKey


def required_scope(request, view) -> str:
    """Return the view's `required_scope`, by default read for safe methods, write otherwise."""
    default = Scope.READ if request.method in SAFE_METHODS else Scope.WRITE
    return getattr(view, "required_scope", default)


class HasScopeOrRole(BasePermission):
    message = "Your role or your API key's scopes do not allow this."

    def has_permission(self, request, view) -> bool:
        return allows(request, required_scope(request, view))


def allows(request, scope: str) -> bool:
    """True when the request's key has `scope`, or its signed-in user's role allows it."""
    if isinstance(request.auth, ApiKey):
        return request.auth.has_scope(scope)
    return selectors.role_allows_scope(selectors.user_role(request.user), scope)


class ReadOrAdmin(BasePermission):
    """Reading needs the read scope (any role); changing needs admin."""

    message = HasScopeOrRole.message

    def has_permission(self, request, view) -> bool:
        return allows(request, Scope.READ if request.method in SAFE_METHODS else Scope.ADMIN)


class IsAuthenticatedPrincipal(BasePermission):
    """Any valid API key, whatever its scopes, or any signed-in user."""

    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, ApiKey) or bool(
            request.user and request.user.is_authenticated
        )
