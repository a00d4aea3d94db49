"""Query-string readers shared by the read APIs; bad input is a 400 naming the parameter.

Times are epoch seconds or RFC 3339 (UTC when no offset is given); attribute filters are
`attr.<key>=<value>`, any number of them.
"""

import re
from datetime import UTC, datetime
from decimal import Decimal

from django.http import QueryDict
from rest_framework.exceptions import ValidationError

from apps.core.times import MAX_NS, NS_PER_S, datetime_ns, rfc3339_upper

# A decimal number as a query string may spell it: 12, -3.5, .5, 1e3.
NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
TIME_HELP = "Epoch seconds or RFC 3339 (UTC when no offset is given)."
ATTR_PREFIX = "attr."
MAX_ATTR_FILTERS = 20
# Attribute keys as OpenTelemetry writes them (http.status_code, service.name, k8s/pod, ...).
_ATTR_KEY = re.compile(r"[\w.\-/:@]{1,200}")


def invalid(key: str, message: str) -> ValidationError:
    """Return the 400 that names parameter `key` and says what is wrong with it."""
    return ValidationError({key: [message]})


def text(params: QueryDict, key: str) -> str | None:
    """Return a non-empty text parameter, or None when absent or empty."""
    value = params.get(key)
    if not value:
        return None
    if "\x00" in value:
        raise invalid(key, "Must not contain NUL characters.")
    return value


def attribute_filters(params: QueryDict) -> dict[str, list[str]]:
    """Return the `attr.<key>=<value>` filters: each key with the values it may have."""
    filters = {}
    for param in params:
        if not param.startswith(ATTR_PREFIX):
            continue
        key, values = param[len(ATTR_PREFIX) :], params.getlist(param)
        if not _ATTR_KEY.fullmatch(key):
            raise invalid(
                param,
                "An attribute filter is attr.<key>=<value>, the key made of letters, digits"
                " and . _ - / : @ (at most 200).",
            )
        if any("\x00" in value for value in values):
            raise invalid(param, "Must not contain NUL characters.")
        filters[key] = values
    if len(filters) > MAX_ATTR_FILTERS:
        raise invalid("attr", f"At most {MAX_ATTR_FILTERS} attribute filters.")
    return filters


def time_range_ns(params: QueryDict) -> tuple[int | None, int | None]:
    """Return `start` and `end` in epoch ns (None when absent); `end` before `start` is a 400."""
    start_ns, end_ns = time_ns(params, "start"), time_ns(params, "end")
    if start_ns is not None and end_ns is not None and start_ns > end_ns:
        raise invalid("end", "end must not be before start.")
    return start_ns, end_ns


def time_ns(params: QueryDict, key: str) -> int | None:
    """Return a time given as epoch seconds or RFC 3339 (UTC if no offset) in epoch ns, or None."""
    raw = params.get(key)
    if not raw:
        return None
    ns = epoch_ns(raw.strip())
    if ns is None or not 0 <= ns <= MAX_NS:
        raise invalid(key, "Give epoch seconds or an RFC 3339 time, from 1970 to 2262.")
    return ns


def epoch_ns(raw: str) -> int | None:
    """Return epoch seconds or an RFC 3339 time (UTC if no offset) as epoch ns, or None."""
    if NUMBER.fullmatch(raw):
        try:
            seconds = Decimal(raw)
        except ArithmeticError:  # an exponent beyond what Decimal holds
            return None
        return int(seconds * NS_PER_S) if abs(seconds) <= MAX_NS else None
    try:
        moment = datetime.fromisoformat(rfc3339_upper(raw))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return datetime_ns(moment)
