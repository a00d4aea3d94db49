"""Writing metric points, in a fixed number of queries a batch: `points_write` checks every point
itself; `points_write_batch` takes plain points its caller already checked, as columns keyed by
a series alias, and checks only the series it has not seen (ingest's hot path).

A batch makes at most, whatever its size: the epoch read (three statements the very first
time); only for series this process has not cached, one select of existing series, one count
of series per metric name, one insert of new series and one select of their ids; one insert
per point table present in the batch; one update of last_seen (written at most once a minute
per series and process); on SQLite, plain points read the head's watermark first, and late
ones (before it) take one more insert (apps/metrics/points.py). A cached batch on SQLite is the
epoch read, the watermark read and the point insert. After the commit, about once a second a
batch also moves the settled head of one shard into Point (points.points_compact_oldest, its
own transaction).

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

import logging
import time
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from operator import itemgetter

from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.db.backends.utils import CursorWrapper

from apps.core.results import WriteResult
from apps.metrics import points, storage
from apps.metrics.checks import (
    HISTOGRAM,
    POINT,
    SUMMARY,
    CheckedPoint,
    CheckedSeries,
    Invalid,
    PointIn,
    SeriesIn,
    check_points,
    check_series,
    series_fingerprint,
)
from apps.metrics.constants import (
    DEFAULT_MAX_SERIES_PER_METRIC,
    LAST_SEEN_RESOLUTION_S,
    MetricType,
)
from apps.metrics.series_cache import SeriesCache, SeriesRef, series_cache

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class PointBatch:
    """A batch for points_write_batch: plain points as columns, and any other points.

    Plain points (a counter or gauge value, or one raw observation of a histogram) come as four
    columns of one entry per point. The caller has checked their values (finite floats) and
    times (ints from 0 to MAX_TS_MS): they are stored as they are. `aliases` name each point's
    series by a hashable the caller derives cheaply from what it received (str and bytes keep
    their hash); equal aliases must mean one series identity and type for as long as the process
    lives, so an alias is an exact encoding of what the series is described from, never a
    lossy digest. Only for an alias this process has not cached is `describe(i)` called, with
    the column index of a point of it; it returns the series' identity (checked here) or raises
    ValueError with the reason to refuse every point of the alias.

    `others` are checked point by point as points_write does. Rejections name `positions` and
    `other_positions` (the points' indexes in the caller's batch; by default their own indexes).
    Of two points of one series and millisecond, a plain point is written first.
    """

    aliases: list[Hashable] = field(default_factory=list)
    ts_ms: list[int] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    positions: list[int] = field(default_factory=list)
    describe: Callable[[int], SeriesIn] | None = None
    others: list[PointIn] = field(default_factory=list)
    other_positions: list[int] = field(default_factory=list)  # empty: their own indexes

    def __len__(self) -> int:
        return len(self.aliases) + len(self.others)


class _SeriesGone(Exception):
    """A series the batch was written against no longer exists: the transaction must go."""


@dataclass(slots=True)
class _Resolved:
    refs: dict[str, SeriesRef]  # by series key, every key of the batch that has a series
    learned: dict[str, SeriesRef] = field(default_factory=dict)  # to cache once committed
    counts: dict[str, int] = field(default_factory=dict)  # series per metric name
    refused: dict[str, str] = field(default_factory=dict)  # series key → why


def points_write(*, points: list[PointIn]) -> WriteResult:
    """Store a batch in ONE transaction and return accepted count + (index, message) rejections."""
    return points_write_batch(batch=PointBatch(others=points))


def points_write_batch(*, batch: PointBatch) -> WriteResult:
    """Store a batch of checked plain points and other points in ONE transaction; return the
    accepted count and (position, message) rejections."""
    result = WriteResult()
    positions = batch.other_positions or range(len(batch.others))
    items = check_points(batch.others, positions, result.rejected)
    if items or batch.aliases:
        try:
            result.accepted, watermark_ms = _store_atomically(
                items, batch, result.rejected, result.names
            )
        except _SeriesGone:
            # Retention deleted a series this process had cached, between the epoch read and
            # now: forget every cached id and write the batch again (the series is re-created).
            series_cache().clear()
            result.accepted, watermark_ms = _store_atomically(
                items, batch, result.rejected, result.names
            )
        _compact_if_due(watermark_ms)
    result.rejected.sort()
    return result


def _compact_if_due(watermark_ms: int | None) -> None:
    """Move the settled head into Point when enough has settled (after the batch's commit:
    the batch is stored whatever happens here), or leave it to compaction_run_deferred."""
    if not points.compaction_due(watermark_ms, round(time.time() * 1000)):
        return
    if _deferral.enabled:
        _deferral.pending = True
    else:
        _compact()


@dataclass(slots=True)
class _Deferral:
    enabled: bool = False
    pending: bool = False


_deferral = _Deferral()


def compaction_defer(*, enabled: bool) -> None:
    """Have batches leave a due compaction to compaction_run_deferred (a web server calls it
    once the response is sent, so that no client waits for it)."""
    _deferral.enabled = enabled


def compaction_run_deferred() -> bool:
    """Run the compaction a batch found due, if any; return whether one was due."""
    if not _deferral.pending:
        return False
    _deferral.pending = False
    _compact()
    return True


def _compact() -> None:
    try:
        points.points_compact_oldest(now_ms=round(time.time() * 1000))
    except OperationalError as exc:  # busy: the next batch or the periodic task moves it
        logger.info("metrics.compact.skipped", extra={"error": str(exc)})


def _store_atomically(
    items: list[CheckedPoint],
    batch: PointBatch,
    rejected: list[tuple[int, str]],
    names: set[str],
) -> tuple[int, int | None]:
    """Store the batch; return the accepted count and the head's watermark (None: no head)."""
    rejections: list[tuple[int, str]] = []
    written: set[str] = set()
    with transaction.atomic():
        accepted, watermark_ms = _store(items, batch, rejections, written)
    rejected.extend(rejections)
    names.update(written)
    return accepted, watermark_ms


def series_cache_invalidate() -> None:
    """Make every process drop its cached series ids; call in the transaction deleting series."""
    storage.epoch_rotate()


# --- storing (a fixed number of queries) ------------------------------------------------------


def _store(
    items: list[CheckedPoint],
    batch: PointBatch,
    rejected: list[tuple[int, str]],
    names: set[str],
) -> tuple[int, int | None]:
    cache, now = series_cache(), time.time()
    with connection.cursor() as cursor:
        token = storage.epoch_token(cursor)
        cache.sync(token)
        aliases = _Aliases(batch, cache)
        resolved = _resolve(cursor, cache, _wanted(items, aliases), now)
        aliases.settle(resolved)
        accepted, rows = _rows(items, aliases, resolved, rejected)
        watermark_ms = _insert(cursor, rows)
        refs = [*resolved.refs.values(), *aliases.refs.values()]
        _touch(cursor, refs, now)
        names.update(ref.name for ref in refs)
    learned = (token, resolved.learned, resolved.counts, aliases.learned)
    transaction.on_commit(partial(cache.remember, *learned))
    return accepted, watermark_ms


class _Aliases:
    """The series of a batch's plain points, by alias: cached, or described and resolved."""

    def __init__(self, batch: PointBatch, cache: SeriesCache) -> None:
        self.batch = batch
        self.refs = cache.aliased(batch.aliases)
        self.refused: dict[Hashable, str] = {}
        self.missing: dict[Hashable, CheckedSeries] = {}
        self.first_positions: dict[Hashable, int] = {}  # of the missing
        self.learned: dict[Hashable, SeriesRef] = {}
        if len(self.refs) < len(batch.aliases) and len(self.refs) < len(set(batch.aliases)):
            self._describe_missing()

    def _describe_missing(self) -> None:
        identities: set[tuple] = set()
        describe = self.batch.describe
        for index, alias in enumerate(self.batch.aliases):
            if alias in self.refs or alias in self.missing or alias in self.refused:
                continue
            try:
                if describe is None:
                    raise Invalid("the series of this point is not described")
                described = describe(index)
            except ValueError as exc:  # the caller's reason
                self.refused[alias] = str(exc)
                continue
            try:
                self.missing[alias] = check_series(described, identities)
                self.first_positions[alias] = self.batch.positions[index]
            except Invalid as exc:
                self.refused[alias] = str(exc)
            except (TypeError, ValueError, AttributeError) as exc:
                self.refused[alias] = f"the point cannot be stored: {exc}"

    def settle(self, resolved: _Resolved) -> None:
        """Take the resolved series of the missing aliases, or the reason to refuse them."""
        for alias, series in self.missing.items():
            ref = resolved.refs.get(series.key)
            if ref is None:
                self.refused[alias] = resolved.refused.get(series.key, _UNSTORED)
            elif ref.type != series.type:
                self.refused[alias] = _type_conflict(ref, series.type)
            else:
                self.refs[alias] = self.learned[alias] = ref

    def rows(self, rejected: list[tuple[int, str]]) -> list[tuple]:
        """Return (series_id, ts_ms, value) of every point whose alias has a series."""
        batch = self.batch
        ids = {alias: ref.id for alias, ref in self.refs.items()}
        if not self.refused:
            return list(
                zip(map(ids.__getitem__, batch.aliases), batch.ts_ms, batch.values, strict=True)
            )
        rows = []
        for index, alias in enumerate(batch.aliases):
            series_id = ids.get(alias)
            if series_id is None:
                rejected.append((batch.positions[index], self.refused[alias]))
            else:
                rows.append((series_id, batch.ts_ms[index], batch.values[index]))
        return rows


_UNSTORED = "the series of this point could not be stored"


def _wanted(items: list[CheckedPoint], aliases: _Aliases) -> dict[str, CheckedSeries]:
    """The series to resolve, by key: the first point of a new series, by position in the
    caller's batch, sets its type."""
    candidates = [(item.position, item.series) for item in items]
    candidates += [(aliases.first_positions[a], series) for a, series in aliases.missing.items()]
    candidates.sort(key=itemgetter(0))
    wanted: dict[str, CheckedSeries] = {}
    for _, series in candidates:
        wanted.setdefault(series.key, series)
    return wanted


def _resolve(
    cursor: CursorWrapper, cache: SeriesCache, wanted: dict[str, CheckedSeries], now: float
) -> _Resolved:
    """Find the series of every key: cache, then database, then create within the limits."""
    resolved = _Resolved(refs=cache.get_many(wanted))
    missing = {series_fingerprint(key): key for key in wanted if key not in resolved.refs}
    if not missing:
        return resolved
    found = _series_found(cursor, missing, touched_at=0.0)
    new = {fp: wanted[key] for fp, key in missing.items() if key not in found}
    if new:
        allowed = _admit(cursor, cache, new, resolved)
        if allowed:
            seen = storage.timestamp_param(datetime.fromtimestamp(now, tz=UTC))
            storage.series_insert(cursor, [_series_row(fp, new[fp], seen) for fp in allowed])
            created = {fp: missing[fp] for fp in allowed}
            found.update(_series_found(cursor, created, touched_at=now))
    resolved.refs.update(found)
    resolved.learned.update(found)
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
    cursor: CursorWrapper, cache: SeriesCache, new: dict[str, CheckedSeries], resolved: _Resolved
) -> list[str]:
    """Return the new fingerprints the per-metric series limit admits; record the refused."""
    limit = getattr(settings, "AIVMON_MAX_SERIES_PER_METRIC", DEFAULT_MAX_SERIES_PER_METRIC)
    names = {series.name for series in new.values()}
    # Counts only grow, so a metric known to be full is still full: no query for it.
    counts = {name: known for name in names if (known := cache.count(name) or 0) >= limit}
    if names - counts.keys():
        counts.update(storage.series_counts(cursor, names - counts.keys()))
    allowed = []
    for fp in sorted(new):  # one order for every process: concurrent inserts cannot deadlock
        series = new[fp]
        if counts[series.name] >= limit:
            resolved.refused[series.key] = (
                f"metric {series.name} has reached its limit of {limit} series; "
                "new label combinations are refused"
            )
            continue
        counts[series.name] += 1
        allowed.append(fp)
    resolved.counts = counts
    return allowed


def _series_row(fingerprint: str, series: CheckedSeries, seen: object) -> tuple:
    return (
        series.name,
        series.type,
        series.temporality,
        series.unit,
        series.service,
        series.labels_text,
        series.labels_text,
        fingerprint,
        seen,
        seen,
    )


def _rows(
    items: list[CheckedPoint],
    aliases: _Aliases,
    resolved: _Resolved,
    rejected: list[tuple[int, str]],
) -> tuple[int, dict[str, list[tuple]]]:
    """Return the accepted count and the rows per table; refuse points their series refuses."""
    rows: dict[str, list[tuple]] = {POINT: aliases.rows(rejected), HISTOGRAM: [], SUMMARY: []}
    accepted = len(rows[POINT])
    for item in items:
        ref = resolved.refs.get(item.series.key)
        if ref is None:
            why = resolved.refused.get(item.series.key, _UNSTORED)
            rejected.append((item.position, why))
        elif item.series.type != ref.type:
            rejected.append((item.position, _type_conflict(ref, item.series.type)))
        else:
            rows[item.table].append((ref.id, *item.row))
            accepted += 1
    refs = [*resolved.refs.values(), *aliases.refs.values()]
    histograms = {ref.id for ref in refs if ref.type == MetricType.HISTOGRAM}
    rows[POINT] = _spread_observations(rows[POINT], histograms)
    return accepted, rows


def _type_conflict(ref: SeriesRef, point_type: str) -> str:
    return f"metric {ref.name} is a {ref.type}; a {point_type} point cannot be added to it"


def _spread_observations(rows: list[tuple], histograms: set[int]) -> list[tuple]:
    """Move raw histogram observations of one series and millisecond to the next free ms.

    A point is unique per (series, ts_ms), yet a batch may carry several observations of one
    histogram in one millisecond. Moving them deterministically keeps a re-sent batch idempotent.
    """
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


def _insert(cursor: CursorWrapper, rows: dict[str, list[tuple]]) -> int | None:
    """Insert the rows of each point table; return the head's watermark (None: no head, or no
    plain points)."""
    # Sorted by (series, ts) — stable, so the first of two equal points wins: B-tree locality,
    # and concurrent transactions lock unique keys in one order (no deadlock on PostgreSQL).
    inserts = {
        HISTOGRAM: storage.histogram_points_insert,
        SUMMARY: storage.summary_points_insert,
    }
    for table, insert in inserts.items():
        if rows[table]:
            insert(cursor, sorted(rows[table], key=itemgetter(0, 1)))
    if not rows[POINT]:
        return None
    return points.points_insert(cursor, rows[POINT])  # sorted there, as its table needs


def _touch(cursor: CursorWrapper, refs: Iterable[SeriesRef], now: float) -> None:
    """Write last_seen of the batch's series not written by this process for a while."""
    # By id: a series may come under its key and under aliases.
    stale = list({r.id: r for r in refs if now - r.touched_at >= LAST_SEEN_RESOLUTION_S}.values())
    if not stale:
        return
    seen = datetime.fromtimestamp(now, tz=UTC)
    if storage.series_touch(cursor, [ref.id for ref in stale], seen) < len(stale):
        raise _SeriesGone
    for ref in stale:
        ref.touched_at = now
