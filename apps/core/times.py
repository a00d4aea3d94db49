"""Times as the API shows them (RFC 3339 in UTC with `Z`), and epoch nanoseconds, as the
telemetry apps store them."""

from datetime import UTC, datetime, timedelta

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

# Nanoseconds are stored in signed 64-bit integers (good until the year 2262).
MAX_NS = 2**63 - 1
NS_PER_S = 1_000_000_000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_UPPER_T_Z = str.maketrans("tz", "TZ")


def datetime_ns(moment: datetime) -> int:
    """Return an aware datetime as epoch nanoseconds, exactly (no float rounding)."""
    delta = moment - EPOCH
    return (delta.days * 86_400 + delta.seconds) * NS_PER_S + delta.microseconds * 1000


def rfc3339_upper(raw: str) -> str:
    """Return an RFC 3339 time with its "T" and "Z" upper-case: RFC 3339 (5.6) allows "t" and
    "z" too, which Python's and Django's parsers refuse."""
    return raw.translate(_UPPER_T_Z)


def rfc3339(ns: int) -> str:
    """Return epoch nanoseconds as RFC 3339 in UTC, to the microsecond, like DRF's own times."""
    return datetime_rfc3339(EPOCH + timedelta(microseconds=ns // 1000))


def datetime_rfc3339(moment: datetime) -> str:
    """Return an aware datetime as RFC 3339 in UTC ending in `Z`, like DRF's own times; for
    times written into JSON by hand (details, exports), where DRF's field does not format."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def optional_rfc3339(moment: datetime | None) -> str | None:
    """Return datetime_rfc3339(moment), or None for no time."""
    return None if moment is None else datetime_rfc3339(moment)


@extend_schema_field(OpenApiTypes.DATETIME)
class NsTimeField(serializers.Field):
    """Epoch nanoseconds shown as an RFC 3339 time."""

    def to_representation(self, value: int) -> str:
        return rfc3339(value)
