"""Django's auth signals (the one welcome use of signals): record every sign-in and sign-out."""

from django.contrib.auth.signals import (
    user_logged_in,
    user_logged_out,
    user_login_failed,
)
from django.dispatch import receiver

from apps.accounts import selectors, services
from apps.accounts.constants import LoginOutcome
from apps.audit.services import audit_record
from apps.core.http import client_ip


def _user_agent(request) -> str:
    return request.META.get("HTTP_USER_AGENT", "") if request is not None else ""


def _ip(request) -> str:
    return client_ip(request) if request is not None else ""


@receiver(user_logged_in, dispatch_uid="aivmon.accounts.logged_in")
def _record_login(sender, request, user, **_kwargs) -> None:
    services.login_attempt_record(
        username=user.get_username(),
        ip=_ip(request),
        outcome=LoginOutcome.SUCCESS,
        user_agent=_user_agent(request),
        user=user,
    )


@receiver(user_login_failed, dispatch_uid="aivmon.accounts.login_failed")
def _record_login_failure(sender, credentials, request=None, **_kwargs) -> None:
    services.login_attempt_record(
        username=str(credentials.get("username", "")),
        ip=_ip(request),
        outcome=LoginOutcome.FAILURE,
        user_agent=_user_agent(request),
    )


@receiver(user_logged_out, dispatch_uid="aivmon.accounts.logged_out")
def _record_logout(sender, request, user, **_kwargs) -> None:
    if user is None:
        return
    audit_record(
        action="auth.logout",
        actor=selectors.request_actor(request),
        target=f"user:{user.pk}",
        ip=_ip(request),
    )
