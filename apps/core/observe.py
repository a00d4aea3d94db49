"""What aivmon itself sees that matters for security: sign-ins, lockouts, denials, admin actions.

Senders call `security_observe`; the security app turns each observation into a security event
through its ingest pipeline. A signal, so that core and accounts need not import security.
"""

from typing import Any

from django.dispatch import Signal
from django.http import HttpRequest

from apps.core.http import client_ip

# kwargs: event_type, user_id, source_ip, endpoint, method, user_agent, details
security_observed = Signal()


def security_observe(
    request: HttpRequest | None,
    *,
    event_type: str,
    user_id: str = "",
    source_ip: str = "",
    endpoint: str = "",
    method: str = "",
    user_agent: str = "",
    details: dict[str, Any] | None = None,
) -> None:
    """Report one security-relevant thing aivmon saw (while serving `request`, when given)."""
    if request is not None:
        user_id = user_id or request_user_id(request)
        source_ip = source_ip or client_ip(request)
        endpoint = endpoint or request.path
        method = method or request.method or ""
        user_agent = user_agent or request.META.get("HTTP_USER_AGENT", "")
    security_observed.send(
        sender=None,
        event_type=event_type,
        user_id=user_id,
        source_ip=source_ip,
        endpoint=endpoint,
        method=method,
        user_agent=user_agent,
        details=details or {},
    )


def request_user_id(request: HttpRequest | None) -> str:
    """Return who made the request: the username, or `apikey:<prefix>` for an API key."""
    if request is None:
        return ""
    prefix = getattr(getattr(request, "auth", None), "prefix", None)
    if isinstance(prefix, str):
        return f"apikey:{prefix}"
    user = getattr(request, "user", None)
    return user.get_username() if user is not None and user.is_authenticated else ""
