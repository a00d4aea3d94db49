"""Facts about an incoming request."""

import re

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    """Return the client's address: REMOTE_ADDR, or the X-Forwarded-For entry that the
    configured number of trusted proxies in front of aivmon (AIVMON_TRUSTED_PROXIES) added."""
    hops = settings.AIVMON_TRUSTED_PROXIES
    if hops:
        forwarded = [
            part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        ]
        forwarded = [part for part in forwarded if part]
        if len(forwarded) >= hops:
            return forwarded[-hops]
    return request.META.get("REMOTE_ADDR", "")


def parse_whole_number(raw: str | None, *, max_digits: int = 18) -> int | None:
    """Return the ASCII decimal whole number in `raw`, or None (str.isdigit accepts '³')."""
    if raw is None or not re.fullmatch(rf"[0-9]{{1,{max_digits}}}", raw):
        return None
    return int(raw)
