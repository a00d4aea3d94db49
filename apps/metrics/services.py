"""Writing metric points: the one entry ingest calls, in a fixed number of queries a batch.

A batch makes at most, whatever its size: the epoch read (three statements the very first
time); only for series this process has not cached, one select of existing series, one count
of series per metric name, one insert of new series and one select of their ids; one insert
per point table present in the batch; one update of last_seen (written at most once a minute
per series and process). A cached batch is the epoch read plus the point insert.

Rules:
- A point is stored once per (series, ts_ms): a re-sent batch is accepted again and stored
  once; of two points of one series and millisecond, the first written stays. Raw histogram
  observations sharing a millisecond within a batch are spread over the next free ms instead.
- The series' first point sets its type, temporality and unit. A point of another type is
  refused; another temporality or unit is stored under the series' own.
- AIVMON_MAX_SERIES_PER_METRIC caps the series of a metric name: a point that would create one
  more is refused, points of existing series are not. Exact within a process; processes that
  create series of one metric at the same moment may overshoot it by a few.
- Retention deletes series nobody wrote to for the raw retention (apps/metrics/retention.py)
  and turns the epoch. A batch that finds, when writing last_seen, that a series it had cached
  is gone (deleted after the epoch was read) is rolled back and written once more afresh.
"""

import hashlib
import math
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from operator import itemgetter

import orjson
from django.conf import settings
from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper

from apps.core.results import WriteResult
from apps.metrics import storage
from apps.metrics.constants import (
    DEFAULT_MAX_SERIES_PER_METRIC,
    LAST_SEEN_RESOLUTION_S,
    METRIC_TYPES,
    NAME_MAX_LENGTH,
    SERVICE_MAX_LENGTH,
    TEMPORALITIES,
    UNIT_MAX_LENGTH,
    MetricType,
)
from apps.metrics.series_cache import SeriesCache, SeriesRef, series_cache

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


class _Invalid(ValueError):
    """A point that cannot be stored; the message is for the sender."""


class _SeriesGone(Exception):
    """A series the batch was written against no longer exists: the transaction must go."""


@dataclass(slots=True)
class _Item:
    """A point that passed the checks: its series key and the row for its table."""

    index: int
    point: PointIn
    key: str  # name NUL service NUL canonical labels: the series' identity, hashed on a miss
    labels_text: str
    table: str
    row: tuple  # the columns after series_id


@dataclass(slots=True)
class _Resolved:
    refs: dict[str, SeriesRef]  # by series key, every key of the batch that has a series
    learned: dict[str, SeriesRef] = field(default_factory=dict)  # to cache once committed
    counts: dict[str, int] = field(default_factory=dict)  # series per metric name
    refused: dict[str, str] = field(default_factory=dict)  # series key → why


def points_write(*, points: list[PointIn]) -> WriteResult:
    """Store a batch in ONE transaction and return accepted count + (index, message) rejections."""
    result = WriteResult()
    items = _prepare(points, result.rejected)
    if items:
        try:
            result.accepted = _store_atomically(items, result.rejected)
        except _SeriesGone:
            # Retention deleted a series this process had cached, between the epoch read and
            # now: forget every cached id and write the batch again (the series is re-created).
            series_cache().clear()
            result.accepted = _store_atomically(items, result.rejected)
    result.rejected.sort()
    return result


def _store_atomically(items: list[_Item], rejected: list[tuple[int, str]]) -> int:
    rejections: list[tuple[int, str]] = []
    with transaction.atomic():
        accepted = _store(items, rejections)
    rejected.extend(rejections)
    return accepted


def series_cache_invalidate() -> None:
    """Make every process drop its cached series ids; call in the transaction deleting series."""
    storage.epoch_rotate()


# --- checking and normalising points (no queries) ---------------------------------------------


def _prepare(points: list[PointIn], rejected: list[tuple[int, str]]) -> list[_Item]:
    items = []
    identities: set[tuple] = set()  # (type, temporality, name, service, unit) already checked
    for index, point in enumerate(points):
        try:
            items.append(_item(index, point, identities))
        except _Invalid as exc:
            rejected.append((index, str(exc)))
        except (TypeError, ValueError, AttributeError, OverflowError) as exc:
            rejected.append((index, f"the point cannot be stored: {exc}"))
    return items


def _item(index: int, point: PointIn, identities: set[tuple]) -> _Item:
    identity = (point.type, point.temporality, point.name, point.service, point.unit)
    if identity not in identities:
        _check_identity(point)
        identities.add(identity)
    labels_text = _labels_text(point.labels)
    # Name and service hold no NUL (checked), labels_text escapes it: the key is unambiguous.
    key = f"{point.name}\x00{point.service}\x00{labels_text}"
    table, row = _payload(point, _timestamp_ms(point.ts_ms))
    return _Item(index, point, key, labels_text, table, row)


def series_fingerprint(key: str) -> str:
    """Return the stored fingerprint of a series key: blake2b-128 of it, in hex."""
    return hashlib.blake2b(key.encode(), digest_size=16).hexdigest()


def _check_identity(point: PointIn) -> None:
    if point.type not in METRIC_TYPES:
        raise _Invalid(f"unknown metric type {point.type!r}")
    if point.temporality not in TEMPORALITIES:
        raise _Invalid(f"unknown temporality {point.temporality!r}")
    _check_text(point.name, "metric name", NAME_MAX_LENGTH, required=True)
    _check_text(point.service, "service", SERVICE_MAX_LENGTH)
    _check_text(point.unit, "unit", UNIT_MAX_LENGTH)


def _check_text(value: object, what: str, max_length: int, *, required: bool = False) -> None:
    if not isinstance(value, str) or len(value) > max_length or (required and not value):
        raise _Invalid(f"{what} must be text of {int(required)} to {max_length} characters")
    if "\x00" in value:
        raise _Invalid(f"{what} must not contain NUL characters")
    value.encode()  # a lone surrogate raises UnicodeEncodeError (a ValueError)


def _labels_text(labels: dict[str, str] | None) -> str:
    """Return the labels as canonical JSON: sorted keys (values are strings, ingest checked)."""
    if not labels:
        return "{}"
    if not isinstance(labels, dict):
        raise _Invalid("labels must map names to values")
    text = orjson.dumps(labels, option=orjson.OPT_SORT_KEYS).decode()
    if "\\u0000" in text:
        raise _Invalid("labels must not contain NUL characters")
    return text


def _timestamp_ms(ts_ms: object) -> int:
    if isinstance(ts_ms, float) and math.isfinite(ts_ms):
        ts_ms = int(ts_ms)
    if isinstance(ts_ms, bool) or not isinstance(ts_ms, int) or not 0 <= ts_ms <= MAX_TS_MS:
        raise _Invalid("timestamp is out of range")
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
        raise _Invalid(f"a {point.type} point needs a value")
    return POINT, (ts_ms, _finite(point.value, "value"))


def _histogram_row(point: PointIn, ts_ms: int) -> tuple:
    bounds = [_finite(bound, "bound") for bound in point.bounds or []]
    if any(lower >= upper for lower, upper in zip(bounds, bounds[1:], strict=False)):
        raise _Invalid("histogram bounds must be strictly ascending")
    if point.bucket_counts is None and bounds:
        raise _Invalid("a histogram with bounds needs bucket_counts")
    counts = (
        [_count(point.count, "count")]
        if point.bucket_counts is None
        else [_count(each, "bucket count") for each in point.bucket_counts]
    )
    if len(counts) != len(bounds) + 1:
        raise _Invalid(
            f"a histogram with {len(bounds)} bounds needs {len(bounds) + 1} bucket counts, "
            f"not {len(counts)}"
        )
    count = sum(counts) if point.count is None else _count(point.count, "count")
    total = None if point.sum is None else _finite(point.sum, "sum")
    return ts_ms, count, total, orjson.dumps(bounds).decode(), orjson.dumps(counts).decode()


def _summary_row(point: PointIn, ts_ms: int) -> tuple:
    if point.count is None:
        raise _Invalid("a summary point needs a count")
    quantiles = {}
    for key, value in (point.quantiles or {}).items():
        quantile = _finite(float(key), "quantile")
        if not 0 <= quantile <= 1:
            raise _Invalid("summary quantiles must be between 0 and 1")
        quantiles[format(quantile, "g")] = _finite(value, "quantile value")
    total = None if point.sum is None else _finite(point.sum, "sum")
    return ts_ms, _count(point.count, "count"), total, orjson.dumps(quantiles).decode()


def _finite(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Invalid(f"{what} must be a number")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise _Invalid(f"{what} must be a finite number")
    return number


def _count(value: object, what: str) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNT:
        raise _Invalid(f"{what} must be a whole number from 0 to 2^63-1")
    return value


# --- storing (a fixed number of queries) ------------------------------------------------------


def _store(items: list[_Item], rejected: list[tuple[int, str]]) -> int:
    cache, now = series_cache(), time.time()
    by_key: dict[str, list[_Item]] = defaultdict(list)
    for item in items:
        by_key[item.key].append(item)
    with connection.cursor() as cursor:
        token = storage.epoch_token(cursor)
        cache.sync(token)
        resolved = _resolve(cursor, cache, by_key, now)
        accepted, rows = _rows(by_key, resolved, rejected)
        _insert(cursor, rows)
        _touch(cursor, resolved.refs.values(), now)
    transaction.on_commit(partial(cache.remember, token, resolved.learned, resolved.counts))
    return accepted


def _resolve(
    cursor: CursorWrapper, cache: SeriesCache, by_key: dict[str, list[_Item]], now: float
) -> _Resolved:
    """Find the series of every key: cache, then database, then create within the limits."""
    resolved = _Resolved(refs=cache.get_many(by_key))
    missing = {series_fingerprint(key): key for key in by_key if key not in resolved.refs}
    if not missing:
        return resolved
    resolved.learned = _series_found(cursor, missing, touched_at=0.0)
    new = {fp: by_key[key][0] for fp, key in missing.items() if key not in resolved.learned}
    if new:
        allowed = _admit(cursor, cache, new, resolved)
        if allowed:
            seen = storage.timestamp_param(datetime.fromtimestamp(now, tz=UTC))
            storage.series_insert(cursor, [_series_row(fp, new[fp], seen) for fp in allowed])
            created = {fp: missing[fp] for fp in allowed}
            resolved.learned.update(_series_found(cursor, created, touched_at=now))
    resolved.refs.update(resolved.learned)
    return resolved


def _series_found(
    cursor: CursorWrapper, keys_by_fingerprint: dict[str, str], *, touched_at: float
) -> dict[str, SeriesRef]:
    """Return the stored series among the fingerprints, by series key."""
    rows = storage.series_by_fingerprints(cursor, list(keys_by_fingerprint))
    return {
        keys_by_fingerprint[fp]: SeriesRef(id_, type_, name, touched_at)
        for id_, fp, type_, name in rows
    }


def _admit(
    cursor: CursorWrapper, cache: SeriesCache, new: dict[str, _Item], resolved: _Resolved
) -> list[str]:
    """Return the new fingerprints the per-metric series limit admits; record the refused."""
    limit = getattr(settings, "AIVMON_MAX_SERIES_PER_METRIC", DEFAULT_MAX_SERIES_PER_METRIC)
    names = {item.point.name for item in new.values()}
    # Counts only grow, so a metric known to be full is still full: no query for it.
    counts = {name: known for name in names if (known := cache.count(name) or 0) >= limit}
    if names - counts.keys():
        counts.update(storage.series_counts(cursor, names - counts.keys()))
    allowed = []
    for fp in sorted(new):  # one order for every process: concurrent inserts cannot deadlock
        item = new[fp]
        if counts[item.point.name] >= limit:
            resolved.refused[item.key] = (
                f"metric {item.point.name} has reached its limit of {limit} series; "
                "new label combinations are refused"
            )
            continue
        counts[item.point.name] += 1
        allowed.append(fp)
    resolved.counts = counts
    return allowed


def _series_row(fingerprint: str, item: _Item, seen: object) -> tuple:
    point = item.point
    return (
        point.name,
        point.type,
        point.temporality,
        point.unit,
        point.service,
        item.labels_text,
        item.labels_text,
        fingerprint,
        seen,
        seen,
    )


def _rows(
    by_key: dict[str, list[_Item]], resolved: _Resolved, rejected: list[tuple[int, str]]
) -> tuple[int, dict[str, list[tuple]]]:
    """Return the accepted count and the rows per table; refuse points their series refuses."""
    rows: dict[str, list[tuple]] = {POINT: [], HISTOGRAM: [], SUMMARY: []}
    accepted = 0
    for key, group in by_key.items():
        ref = resolved.refs.get(key)
        if ref is None:
            why = resolved.refused.get(key, "the series of this point could not be stored")
            rejected.extend((item.index, why) for item in group)
            continue
        for item in group:
            if item.point.type != ref.type:
                rejected.append((item.index, _type_conflict(ref, item.point.type)))
                continue
            rows[item.table].append((ref.id, *item.row))
            accepted += 1
    rows[POINT] = _spread_observations(rows[POINT], resolved.refs)
    return accepted, rows


def _type_conflict(ref: SeriesRef, point_type: str) -> str:
    return f"metric {ref.name} is a {ref.type}; a {point_type} point cannot be added to it"


def _spread_observations(rows: list[tuple], refs: dict[str, SeriesRef]) -> list[tuple]:
    """Move raw histogram observations of one series and millisecond to the next free ms.

    A point is unique per (series, ts_ms), yet a batch may carry several observations of one
    histogram in one millisecond. Moving them deterministically keeps a re-sent batch idempotent.
    """
    histograms = {ref.id for ref in refs.values() if ref.type == MetricType.HISTOGRAM}
    if not histograms:
        return rows
    taken: set[tuple[int, int]] = set()
    spread = []
    for series_id, ts_ms, value in rows:
        if series_id in histograms:
            while (series_id, ts_ms) in taken:
                ts_ms += 1
            taken.add((series_id, ts_ms))
        spread.append((series_id, ts_ms, value))
    return spread


def _insert(cursor: CursorWrapper, rows: dict[str, list[tuple]]) -> None:
    # Sorted by (series, ts) — stable, so the first of two equal points wins: B-tree locality,
    # and concurrent transactions lock unique keys in one order (no deadlock on PostgreSQL).
    inserts = {
        POINT: storage.points_insert,
        HISTOGRAM: storage.histogram_points_insert,
        SUMMARY: storage.summary_points_insert,
    }
    for table, insert in inserts.items():
        if rows[table]:
            insert(cursor, sorted(rows[table], key=itemgetter(0, 1)))


def _touch(cursor: CursorWrapper, refs, now: float) -> None:
    """Write last_seen of the batch's series not written by this process for a while."""
    stale = [ref for ref in refs if now - ref.touched_at >= LAST_SEEN_RESOLUTION_S]
    if not stale:
        return
    seen = datetime.fromtimestamp(now, tz=UTC)
    if storage.series_touch(cursor, [ref.id for ref in stale], seen) < len(stale):
        raise _SeriesGone
    for ref in stale:
        ref.touched_at = now
