"""Writes: roles, users, API keys, sign-in attempts — each audited."""

import hashlib
import hmac
import logging
import secrets
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.auth.models import User as AbstractUser
from django.db import DatabaseError, transaction
from django.db.models import Q
from django.utils import timezone

from apps.accounts import selectors
from apps.accounts.constants import (
    API_KEY_LAST_USED_RESOLUTION_S,
    API_KEY_PREFIX,
    OPERATOR_PERMISSIONS,
    PRIVATE_APP_LABELS,
    ROLES,
    SCOPES,
    LoginOutcome,
    Role,
)
from apps.accounts.models import ApiKey, LoginAttempt
from apps.audit.services import SYSTEM, Actor, audit_record
from apps.core.observe import security_observe
from apps.core.times import optional_rfc3339

logger = logging.getLogger(__name__)
LOGIN_ENDPOINT = "/accounts/login/"


class AccountError(ValueError):
    """A request to change accounts or keys that cannot be carried out as asked."""


# --- Roles -----------------------------------------------------------------------------------


def roles_sync() -> None:
    """Make sure the role groups exist and hold the permissions their role grants."""
    permissions = Permission.objects.select_related("content_type")
    viewing = [
        p
        for p in permissions
        if p.codename.startswith("view_") and p.content_type.app_label not in PRIVATE_APP_LABELS
    ]
    operating = [
        p for p in permissions if f"{p.content_type.app_label}.{p.codename}" in OPERATOR_PERMISSIONS
    ]
    grants = {
        Role.VIEWER: viewing,
        Role.OPERATOR: viewing + operating,
        Role.ADMIN: list(permissions),
    }
    for role in ROLES:
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.set(grants[role])


# --- Users -----------------------------------------------------------------------------------


def user_create(
    *, username: str, role: str, password: str | None, email: str = "", actor: Actor = SYSTEM
) -> AbstractUser:
    """Create a user with one role; without a password the account cannot sign in."""
    _check_role(role)
    user_model = get_user_model()
    with transaction.atomic():
        if user_model.objects.filter(username=username).exists():
            raise AccountError(f"user {username!r} already exists")
        user = user_model.objects.create_user(username=username, email=email, password=password)
        _apply_role(user, role)
        audit_record(
            action="user.created",
            actor=actor,
            target=f"user:{user.pk}",
            details={"username": username, "role": role},
        )
    return user


def user_set_role(*, user: AbstractUser, role: str, actor: Actor = SYSTEM) -> None:
    """Give the user exactly this role."""
    _check_role(role)
    previous = selectors.user_role(user)
    with transaction.atomic():
        _apply_role(user, role)
        audit_record(
            action="user.role_changed",
            actor=actor,
            target=f"user:{user.pk}",
            details={"username": user.username, "from": previous, "to": role},
        )


def user_set_password(*, user: AbstractUser, password: str, actor: Actor = SYSTEM) -> None:
    """Set a new password."""
    with transaction.atomic():
        user.set_password(password)
        user.save(update_fields=["password"])
        audit_record(
            action="user.password_changed",
            actor=actor,
            target=f"user:{user.pk}",
            details={"username": user.username},
        )


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")


def _apply_role(user: AbstractUser, role: str) -> None:
    groups = {group.name: group for group in Group.objects.filter(name__in=ROLES)}
    if len(groups) != len(ROLES):
        roles_sync()
        groups = {group.name: group for group in Group.objects.filter(name__in=ROLES)}
    user.groups.remove(*groups.values())
    user.groups.add(groups[role])
    # Staff status only opens Django's admin templates; access is decided by the admin role.
    user.is_staff = role == Role.ADMIN
    user.save(update_fields=["is_staff"])
    user._aivmon_role = role  # type: ignore[attr-defined]


# --- API keys --------------------------------------------------------------------------------


def api_key_hash(secret: str) -> str:
    """Return the stored form of a key's secret (the secret is 256 random bits)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def api_key_create(
    *,
    name: str,
    scopes: list[str],
    owner: AbstractUser | None = None,
    expires_at: datetime | None = None,
    actor: Actor = SYSTEM,
) -> tuple[ApiKey, str]:
    """Create a key; return it with the full key text, which is never stored or shown again."""
    scopes = sorted(set(scopes))
    unknown = [scope for scope in scopes if scope not in SCOPES]
    if not scopes or unknown:
        raise AccountError(f"scopes must be some of {', '.join(SCOPES)}; got {scopes or 'none'}")
    if not name.strip():
        raise AccountError("a key needs a name")
    secret = secrets.token_urlsafe(32)
    with transaction.atomic():
        key = ApiKey.objects.create(
            name=name.strip(),
            owner=owner,
            prefix=_unused_prefix(),
            key_hash=api_key_hash(secret),
            scopes=scopes,
            expires_at=expires_at,
        )
        audit_record(
            action="api_key.created",
            actor=actor,
            target=f"api_key:{key.prefix}",
            details={
                "name": key.name,
                "scopes": scopes,
                "expires_at": optional_rfc3339(expires_at),
                "owner": owner.get_username() if owner else None,
            },
        )
    return key, f"{API_KEY_PREFIX}_{key.prefix}_{secret}"


def _unused_prefix() -> str:
    while True:
        prefix = secrets.token_hex(4)
        if not ApiKey.objects.filter(prefix=prefix).exists():
            return prefix


def api_key_revoke(*, key: ApiKey, actor: Actor = SYSTEM) -> bool:
    """Revoke the key; True if this call revoked it, False if it already was."""
    now = timezone.now()
    with transaction.atomic():
        changed = ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=now)
        _key_cache.forget(key.prefix)
        if changed:
            audit_record(
                action="api_key.revoked",
                actor=actor,
                target=f"api_key:{key.prefix}",
                details={"name": key.name},
            )
    key.revoked_at = key.revoked_at or now
    return bool(changed)


def api_key_authenticate(*, raw: str) -> ApiKey | None:
    """Return the usable key that `raw` names, or None; the secret is compared in constant time.

    Keys are cached in the process for AIVMON_API_KEY_CACHE_S seconds, so a busy client costs
    no key query; a revocation reaches other processes within that time (this one at once).
    """
    parts = raw.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != API_KEY_PREFIX or len(parts[1]) != 8:
        return None
    key = _key_cache.get(parts[1])
    if key is None:
        key = ApiKey.objects.select_related("owner").filter(prefix=parts[1]).first()
        if key is None:
            return None
        _key_cache.put(parts[1], key)
    if not hmac.compare_digest(key.key_hash, api_key_hash(parts[2])):
        return None
    now = timezone.now()
    if not key.is_usable(now) or (key.owner is not None and not key.owner.is_active):
        return None
    _api_key_touch(key, now)
    return key


class _KeyCache:
    """Prefix → ApiKey for a few seconds, bounded in size; one per process."""

    def __init__(self, max_entries: int = 10_000) -> None:
        self._entries: dict[str, tuple[float, ApiKey]] = {}
        self._max_entries = max_entries

    def get(self, prefix: str) -> ApiKey | None:
        entry = self._entries.get(prefix)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, prefix: str, key: ApiKey) -> None:
        if len(self._entries) >= self._max_entries:
            self._entries.clear()
        self._entries[prefix] = (time.monotonic() + settings.AIVMON_API_KEY_CACHE_S, key)

    def forget(self, prefix: str) -> None:
        self._entries.pop(prefix, None)

    def clear(self) -> None:
        self._entries.clear()


_key_cache = _KeyCache()


def _api_key_touch(key: ApiKey, now: datetime) -> None:
    # At most one write a minute per key, and never backwards.
    stale_before = now - timedelta(seconds=API_KEY_LAST_USED_RESOLUTION_S)
    if key.last_used_at is not None and key.last_used_at > stale_before:
        return
    stale = Q(last_used_at__isnull=True) | Q(last_used_at__lt=stale_before)
    try:
        with transaction.atomic():
            ApiKey.objects.filter(stale, pk=key.pk).update(last_used_at=now)
    except DatabaseError as exc:
        # Advisory only: a busy database must not turn an authenticated request into an error.
        logger.warning("accounts.api_key.touch_failed", extra={"error": str(exc)})
        return
    key.last_used_at = now


# --- Sign-in attempts ------------------------------------------------------------------------


def normalize_username(username: str) -> str:
    return username.strip().lower()[:150]


def login_attempt_record(
    *, username: str, ip: str, outcome: str, user_agent: str = "", user: AbstractUser | None = None
) -> LoginAttempt:
    """Record one sign-in attempt and audit it; audit a lockout when this failure starts one."""
    now = timezone.now()
    name = normalize_username(username)
    actor = (
        Actor("user", str(user.pk), user.get_username()) if user else Actor("anonymous", "", name)
    )
    with transaction.atomic():
        attempt = LoginAttempt.objects.create(
            created_at=now, username=name, ip=ip, outcome=outcome, user_agent=user_agent[:255]
        )
        audit_record(action=f"auth.login_{outcome}", actor=actor, target=f"username:{name}", ip=ip)
        locked = outcome == LoginOutcome.FAILURE and _audit_if_locked(name, ip, now, actor)
    _observe_login(name, ip, outcome, user_agent, locked=locked)
    return attempt


def _observe_login(username: str, ip: str, outcome: str, user_agent: str, *, locked: bool) -> None:
    # A refusal while locked out is one more failed attempt, as far as detection goes.
    success = outcome == LoginOutcome.SUCCESS
    for event_type in ["auth_success" if success else "auth_failure"] + (
        ["account_lockout"] if locked else []
    ):
        security_observe(
            None,
            event_type=event_type,
            user_id=username,
            source_ip=ip,
            endpoint=LOGIN_ENDPOINT,
            method="POST",
            user_agent=user_agent,
            details={"outcome": outcome},
        )


def _audit_if_locked(username: str, ip: str, now: datetime, actor: Actor) -> bool:
    wait_s = selectors.login_lockout_remaining_s(username=username, ip=ip, now=now)
    if wait_s:
        audit_record(
            action="auth.lockout",
            actor=actor,
            target=f"username:{username}",
            ip=ip,
            details={
                "retry_after_s": wait_s,
                "max_failures": settings.AIVMON_LOGIN_MAX_FAILURES,
                "window_s": settings.AIVMON_LOGIN_WINDOW_S,
            },
        )
    return bool(wait_s)


def api_key_cache_clear() -> None:
    """Forget every cached key in this process (tests; after bulk changes to keys)."""
    _key_cache.clear()
