"""Who may open a page, and what a page may offer its viewer (roles as DESIGN.md lists them)."""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from apps.accounts import selectors as accounts
from apps.accounts.constants import Role


def role_required(minimum: str) -> Callable:
    """Require a signed-in user holding at least `minimum` (login page if anonymous, else 403)."""

    def decorate(view: Callable) -> Callable:
        @login_required
        @wraps(view)
        def guarded(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if not accounts.role_at_least(accounts.user_role(request.user), minimum):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return guarded

    return decorate


def may(request: HttpRequest, minimum: str) -> bool:
    """True when the signed-in user holds at least `minimum`: pages show actions by this."""
    return accounts.role_at_least(accounts.user_role(request.user), minimum)


def may_operate(request: HttpRequest) -> bool:
    """Operators and admins acknowledge, resolve and silence alerts and triage threats."""
    return may(request, Role.OPERATOR)


viewer_page = role_required(Role.VIEWER)
