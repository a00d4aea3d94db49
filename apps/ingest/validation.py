"""Per-item checks shared by the OTLP and native decoders. Each raises ItemError with a message
for a person; the decoders turn it into that item's rejection."""

import math
import re
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils.dateparse import parse_datetime

from apps.core.times import rfc3339_upper
from apps.ingest.constants import (
    MAX_ATTRIBUTE_DEPTH,
    MAX_ATTRIBUTE_KEY_LEN,
    MAX_ATTRIBUTE_VALUE_LEN,
    MAX_ATTRIBUTES,
    MAX_LABEL_KEY_LEN,
    MAX_LABEL_VALUE_LEN,
    MAX_LABELS,
    MAX_METRIC_NAME_LEN,
    TRUNCATION_MARKER,
)

METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:.]*\Z")
HEX = re.compile(r"[0-9a-f]+\Z")


class ItemError(ValueError):
    """One item of a batch cannot be stored; the message says why."""


def truncate(text: str, max_len: int) -> str:
    """Return text cut to max_len characters, ending with a marker when it was cut."""
    if len(text) <= max_len:
        return text
    return text[: max_len - len(TRUNCATION_MARKER)] + TRUNCATION_MARKER


def metric_name(raw: Any) -> str:
    if not isinstance(raw, str) or not raw:
        raise ItemError("name: required, a string")
    if len(raw) > MAX_METRIC_NAME_LEN:
        raise ItemError(f"name: longer than {MAX_METRIC_NAME_LEN} characters")
    if not METRIC_NAME.match(raw):
        raise ItemError(f"name {raw[:60]!r}: must match [a-zA-Z_:][a-zA-Z0-9_:.]*")
    return raw


def labels(raw: Any) -> dict[str, str]:
    """Return labels as a str→str dict: at most 32, keys ≤ 100 chars, long values truncated."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ItemError("labels: must be an object of names to values")
    if len(raw) > MAX_LABELS:
        raise ItemError(f"labels: {len(raw)} labels, at most {MAX_LABELS} allowed")
    return {
        _label_key(key): truncate(_label_value(key, value), MAX_LABEL_VALUE_LEN)
        for key, value in raw.items()
    }


def _label_key(key: Any) -> str:
    if not isinstance(key, str) or not key or len(key) > MAX_LABEL_KEY_LEN:
        raise ItemError(f"labels: names must be 1 to {MAX_LABEL_KEY_LEN} characters")
    return key


def _label_value(key: str, value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float) and math.isfinite(value):
        return repr(value) if isinstance(value, float) else str(value)
    raise ItemError(f"labels.{key[:40]}: must be a string, number or boolean")


def finite(raw: Any, field: str) -> float:
    """Return raw as a finite float; booleans and NaN/inf are refused."""
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise ItemError(f"{field}: must be a number")
    value = float(raw)
    if not math.isfinite(value):
        raise ItemError(f"{field}: must be finite")
    return value


def count(raw: Any, field: str) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0:
        raise ItemError(f"{field}: must be a whole number ≥ 0")
    return raw


@dataclass(frozen=True, slots=True)
class Clock:
    """The time a batch arrived and the window its items' times must fall in."""

    now_ns: int
    oldest_ns: int
    newest_ns: int


def clock(now_ns: int | None = None) -> Clock:
    """Return the clock for one batch (settings are read once per batch, not per item)."""
    now_ns = time.time_ns() if now_ns is None else now_ns
    return Clock(
        now_ns,
        now_ns - settings.AIVMON_INGEST_MAX_AGE_S * 1_000_000_000,
        now_ns + settings.AIVMON_INGEST_MAX_FUTURE_S * 1_000_000_000,
    )


def seconds_ns(seconds: float) -> int:
    """Epoch seconds as nanoseconds, to the microsecond: a float's product with 1e9 is not exact
    at today's epoch, and truncating it put ~37 % of millisecond times 1 ms early."""
    return round(seconds * 1_000_000) * 1000


def timestamp_ns(raw: Any, field: str, *, clock: Clock, default_now: bool = False) -> int:
    """Return epoch nanoseconds from epoch seconds (number) or RFC 3339 (string), in window."""
    if raw is None and default_now:
        return clock.now_ns
    if isinstance(raw, str):
        ns = _rfc3339_ns(raw, field)
    else:
        seconds = finite(raw, field)
        if not 0 <= seconds < 1e11:
            raise ItemError(f"{field}: epoch seconds out of range")
        ns = seconds_ns(seconds)
    return in_window(ns, field, clock=clock)


def _rfc3339_ns(raw: str, field: str) -> int:
    try:
        parsed = parse_datetime(rfc3339_upper(raw))
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise ItemError(f"{field}: not an RFC 3339 time with a zone, nor epoch seconds")
    return _datetime_ns(parsed)


def _datetime_ns(moment: datetime) -> int:
    return int(moment.timestamp()) * 1_000_000_000 + moment.microsecond * 1000


def in_window(ns: int, field: str, *, clock: Clock) -> int:
    """Refuse times older than the accepted age or too far in the future."""
    if ns < clock.oldest_ns:
        raise ItemError(f"{field}: older than {settings.AIVMON_INGEST_MAX_AGE_S} s")
    if ns > clock.newest_ns:
        raise ItemError(f"{field}: more than {settings.AIVMON_INGEST_MAX_FUTURE_S} s in the future")
    return ns


def hex_id(raw: Any, length: int, field: str) -> str:
    """Return a lower-case hex id of exactly `length` characters, not all zeros."""
    value = optional_hex_id(raw, length, field)
    if value is None:
        raise ItemError(f"{field}: must be {length} hex characters, not all zeros")
    return value


def optional_hex_id(raw: Any, length: int, field: str) -> str | None:
    """Like hex_id, but absent, empty or all zeros (OTLP's "no id") give None."""
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str) or len(raw) != length or not HEX.match(raw.lower()):
        raise ItemError(f"{field}: must be {length} hex characters")
    value = raw.lower()
    return None if value == "0" * length else value


def text(raw: Any, field: str, max_len: int, *, required: bool = False) -> str:
    if raw is None and not required:
        return ""
    if not isinstance(raw, str) or (required and not raw):
        raise ItemError(f"{field}: must be a{' non-empty' if required else ''} string")
    return truncate(raw, max_len)


def attributes(raw: Any, field: str = "attributes") -> dict[str, Any]:
    """Return JSON-safe attributes: at most 128 keys, long strings truncated, nesting bounded."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ItemError(f"{field}: must be an object")
    if len(raw) > MAX_ATTRIBUTES:
        raise ItemError(f"{field}: {len(raw)} keys, at most {MAX_ATTRIBUTES} allowed")
    return {
        truncate(str(key), MAX_ATTRIBUTE_KEY_LEN): _attribute_value(value, field, 1)
        for key, value in raw.items()
    }


def _attribute_value(value: Any, field: str, depth: int) -> Any:
    if depth > MAX_ATTRIBUTE_DEPTH:
        raise ItemError(f"{field}: nested deeper than {MAX_ATTRIBUTE_DEPTH} levels")
    if isinstance(value, str):
        return truncate(value, MAX_ATTRIBUTE_VALUE_LEN)
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, list):
        return [_attribute_value(item, field, depth + 1) for item in value[:MAX_ATTRIBUTES]]
    if isinstance(value, dict):
        return {
            truncate(str(k), MAX_ATTRIBUTE_KEY_LEN): _attribute_value(v, field, depth + 1)
            for k, v in list(value.items())[:MAX_ATTRIBUTES]
        }
    raise ItemError(f"{field}: unsupported value type {type(value).__name__}")
