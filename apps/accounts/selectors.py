"""Reads: a user's role, who made a request, API keys, lockout state."""

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.http import HttpRequest

from apps.accounts.constants import ROLES, SCOPE_MIN_ROLE, LoginOutcome, Role
from apps.accounts.models import ApiKey, LoginAttempt
from apps.audit.constants import ActorKind
from apps.audit.services import Actor


def user_role(user: Any) -> str | None:
    """Return the highest role the user holds (superusers are admins), or None."""
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    if hasattr(user, "_aivmon_role"):
        return user._aivmon_role
    if user.is_superuser:
        role: str | None = Role.ADMIN
    else:
        held = set(user.groups.filter(name__in=ROLES).values_list("name", flat=True))
        role = next((name for name in reversed(ROLES) if name in held), None)
    user._aivmon_role = role
    return role


def admin_exists() -> bool:
    """True when at least one active user holds the admin role."""
    admins = get_user_model().objects.filter(Q(is_superuser=True) | Q(groups__name=Role.ADMIN))
    return admins.filter(is_active=True).exists()


def role_at_least(role: str | None, needed: str) -> bool:
    return role is not None and ROLES.index(role) >= ROLES.index(needed)


def role_allows_scope(role: str | None, scope: str) -> bool:
    """True when a signed-in user of `role` may do what `scope` allows."""
    needed = SCOPE_MIN_ROLE.get(scope)
    return needed is not None and role_at_least(role, needed)


def request_actor(request: HttpRequest) -> Actor:
    """Return who made the request, for the audit log."""
    auth = getattr(request, "auth", None)
    if isinstance(auth, ApiKey):
        return Actor(ActorKind.API_KEY, auth.prefix, auth.name)
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return Actor(ActorKind.USER, str(user.pk), user.get_username())
    return Actor(ActorKind.ANONYMOUS, "", "")


def api_key_list() -> QuerySet[ApiKey]:
    """Return every API key, newest first."""
    return ApiKey.objects.select_related("owner").order_by("-created_at", "-id")


def login_lockout_remaining_s(*, username: str, ip: str, now: datetime) -> int:
    """Return seconds until a sign-in may be tried for this username and IP (0: now)."""
    window = timedelta(seconds=settings.AIVMON_LOGIN_WINDOW_S)
    waits = [
        _lockout_wait(
            LoginAttempt.objects.filter(username=username), now, window, reset_on_success=True
        )
    ]
    if ip:
        # An IP's count is not reset by a success: one good account must not launder a spray.
        waits.append(
            _lockout_wait(LoginAttempt.objects.filter(ip=ip), now, window, reset_on_success=False)
        )
    return max(waits)


def _lockout_wait(
    attempts: QuerySet[LoginAttempt], now: datetime, window: timedelta, *, reset_on_success: bool
) -> int:
    limit = settings.AIVMON_LOGIN_MAX_FAILURES
    since = now - window
    if reset_on_success:
        last_success = (
            attempts.filter(outcome=LoginOutcome.SUCCESS, created_at__gte=since)
            .order_by("-created_at")
            .values_list("created_at", flat=True)
            .first()
        )
        since = last_success or since
    failures = list(
        attempts.filter(outcome=LoginOutcome.FAILURE, created_at__gte=since)
        .order_by("-created_at")
        .values_list("created_at", flat=True)[:limit]
    )
    if len(failures) < limit:
        return 0
    # Locked until the limit-th newest failure leaves the window.
    return max(1, int((failures[-1] + window - now).total_seconds()) + 1)


def users_with_role(*, role: str) -> QuerySet[Any]:
    """Return the active users holding `role` who have an e-mail address (superusers are admins)."""
    holders = Q(groups__name=role)
    if role == Role.ADMIN:
        holders |= Q(is_superuser=True)
    users = get_user_model().objects.filter(holders, is_active=True).exclude(email="")
    return users.distinct().order_by("pk")


def api_key_last_used(*, prefix: str) -> datetime | None:
    """Return when the key with this prefix was last used (written at most once a minute)."""
    return ApiKey.objects.filter(prefix=prefix).values_list("last_used_at", flat=True).first()
