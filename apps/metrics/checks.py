"""Checking and normalising points before they are stored (no queries): a point's series
identity (type, temporality, name, service, unit, canonical labels) and its row."""

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass

import orjson

from apps.metrics.constants import (
    METRIC_TYPES,
    NAME_MAX_LENGTH,
    SERVICE_MAX_LENGTH,
    TEMPORALITIES,
    UNIT_MAX_LENGTH,
    MetricType,
)

MAX_TS_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z
MAX_COUNT = 2**63 - 1
POINT, HISTOGRAM, SUMMARY = "point", "histogram", "summary"


@dataclass(slots=True)
class PointIn:
    name: str
    type: str  # "counter" | "gauge" | "histogram" | "summary"
    service: str
    labels: dict[str, str]  # already validated: <= 32 labels, str keys/values
    ts_ms: int
    value: float | None = None  # counter/gauge value, or ONE raw observation of a histogram
    count: int | None = None  # pre-aggregated histogram / summary
    sum: float | None = None
    bounds: list[float] | None = None  # histogram explicit upper bounds, ascending (+Inf implied)
    bucket_counts: list[int] | None = None  # len(bounds)+1, per bucket
    quantiles: dict[str, float] | None = None  # summary {"0.5": v, "0.99": v}
    temporality: str = "cumulative"  # or "delta" (OTLP delta sums / histograms)
    unit: str = ""


@dataclass(slots=True)
class SeriesIn:
    """The identity of a series as a caller of points_write_batch describes it."""

    name: str
    type: str  # "counter" | "gauge" | "histogram" (a plain point of it is one raw observation)
    service: str
    labels: dict[str, str]
    unit: str = ""
    temporality: str = "cumulative"


class Invalid(ValueError):
    """A point that cannot be stored; the message is for the sender."""


@dataclass(slots=True, frozen=True)
class CheckedSeries:
    """A checked series identity; `key` (name NUL service NUL canonical labels) is hashed into
    the stored fingerprint."""

    key: str
    name: str
    type: str
    temporality: str
    unit: str
    service: str
    labels_text: str


@dataclass(slots=True)
class CheckedPoint:
    """A point of `others` that passed the checks: its series and the row for its table."""

    position: int
    series: CheckedSeries
    table: str
    row: tuple  # the columns after series_id


def check_points(
    points: Sequence[PointIn], positions: Sequence[int], rejected: list[tuple[int, str]]
) -> list[CheckedPoint]:
    """Return the points that can be stored; add (position, why) to `rejected` for the others."""
    items = []
    identities: set[tuple] = set()  # (type, temporality, name, service, unit) already checked
    for position, point in zip(positions, points, strict=True):
        try:
            items.append(_item(position, point, identities))
        except Invalid as exc:
            rejected.append((position, str(exc)))
        except (TypeError, ValueError, AttributeError, OverflowError) as exc:
            rejected.append((position, f"the point cannot be stored: {exc}"))
    return items


def _item(position: int, point: PointIn, identities: set[tuple]) -> CheckedPoint:
    series = check_series(point, identities)
    table, row = _payload(point, _timestamp_ms(point.ts_ms))
    return CheckedPoint(position, series, table, row)


def check_series(described: PointIn | SeriesIn, identities: set[tuple]) -> CheckedSeries:
    """Check a series identity (once per batch for its type, names and unit) and key it."""
    identity = (
        described.type,
        described.temporality,
        described.name,
        described.service,
        described.unit,
    )
    if identity not in identities:
        _check_identity(described)
        identities.add(identity)
    labels_text = _labels_text(described.labels)
    # Name and service hold no NUL (checked), labels_text escapes it: the key is unambiguous.
    return CheckedSeries(
        f"{described.name}\x00{described.service}\x00{labels_text}",
        described.name,
        described.type,
        described.temporality,
        described.unit,
        described.service,
        labels_text,
    )


def series_fingerprint(key: str) -> str:
    """Return the stored fingerprint of a series key: blake2b-128 of it, in hex."""
    return hashlib.blake2b(key.encode(), digest_size=16).hexdigest()


def _check_identity(point: PointIn | SeriesIn) -> None:
    if point.type not in METRIC_TYPES:
        raise Invalid(f"unknown metric type {point.type!r}")
    if point.temporality not in TEMPORALITIES:
        raise Invalid(f"unknown temporality {point.temporality!r}")
    _check_text(point.name, "metric name", NAME_MAX_LENGTH, required=True)
    _check_text(point.service, "service", SERVICE_MAX_LENGTH)
    _check_text(point.unit, "unit", UNIT_MAX_LENGTH)


def _check_text(value: object, what: str, max_length: int, *, required: bool = False) -> None:
    if not isinstance(value, str) or len(value) > max_length or (required and not value):
        raise Invalid(f"{what} must be text of {int(required)} to {max_length} characters")
    if "\x00" in value:
        raise Invalid(f"{what} must not contain NUL characters")
    value.encode()  # a lone surrogate raises UnicodeEncodeError (a ValueError)


def _labels_text(labels: dict[str, str] | None) -> str:
    """Return the labels as canonical JSON: sorted keys (values are strings, ingest checked)."""
    if not labels:
        return "{}"
    if not isinstance(labels, dict):
        raise Invalid("labels must map names to values")
    text = orjson.dumps(labels, option=orjson.OPT_SORT_KEYS).decode()
    if "\\u0000" in text:
        raise Invalid("labels must not contain NUL characters")
    return text


def _timestamp_ms(ts_ms: object) -> int:
    if isinstance(ts_ms, float) and math.isfinite(ts_ms):
        ts_ms = int(ts_ms)
    if isinstance(ts_ms, bool) or not isinstance(ts_ms, int) or not 0 <= ts_ms <= MAX_TS_MS:
        raise Invalid("timestamp is out of range")
    return ts_ms


def _payload(point: PointIn, ts_ms: int) -> tuple[str, tuple]:
    """Return the table the point goes to and its row after series_id."""
    if point.type == MetricType.SUMMARY:
        return SUMMARY, _summary_row(point, ts_ms)
    if point.type == MetricType.HISTOGRAM and (
        point.count is not None or point.bucket_counts is not None
    ):
        return HISTOGRAM, _histogram_row(point, ts_ms)
    if point.value is None:
        raise Invalid(f"a {point.type} point needs a value")
    return POINT, (ts_ms, _finite(point.value, "value"))


def _histogram_row(point: PointIn, ts_ms: int) -> tuple:
    bounds = [_finite(bound, "bound") for bound in point.bounds or []]
    if any(lower >= upper for lower, upper in zip(bounds, bounds[1:], strict=False)):
        raise Invalid("histogram bounds must be strictly ascending")
    if point.bucket_counts is None and bounds:
        raise Invalid("a histogram with bounds needs bucket_counts")
    counts = (
        [_count(point.count, "count")]
        if point.bucket_counts is None
        else [_count(each, "bucket count") for each in point.bucket_counts]
    )
    if len(counts) != len(bounds) + 1:
        raise Invalid(
            f"a histogram with {len(bounds)} bounds needs {len(bounds) + 1} bucket counts, "
            f"not {len(counts)}"
        )
    count = sum(counts) if point.count is None else _count(point.count, "count")
    total = None if point.sum is None else _finite(point.sum, "sum")
    return ts_ms, count, total, orjson.dumps(bounds).decode(), orjson.dumps(counts).decode()


def _summary_row(point: PointIn, ts_ms: int) -> tuple:
    if point.count is None:
        raise Invalid("a summary point needs a count")
    quantiles = {}
    for key, value in (point.quantiles or {}).items():
        quantile = _finite(float(key), "quantile")
        if not 0 <= quantile <= 1:
            raise Invalid("summary quantiles must be between 0 and 1")
        quantiles[format(quantile, "g")] = _finite(value, "quantile value")
    total = None if point.sum is None else _finite(point.sum, "sum")
    return ts_ms, _count(point.count, "count"), total, orjson.dumps(quantiles).decode()


def _finite(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Invalid(f"{what} must be a number")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise Invalid(f"{what} must be a finite number")
    return number


def _count(value: object, what: str) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNT:
        raise Invalid(f"{what} must be a whole number from 0 to 2^63-1")
    return value
