"""Pure arithmetic of range queries: counter increases, histogram merges, sketches, quantiles."""

import math
import sys
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import accumulate
from operator import add, sub

from apps.metrics.constants import SKETCH_BUCKETS_PER_OCTAVE

Layout = tuple[float, ...]  # a histogram's finite upper bounds, ascending; +Inf is implied


def counter_increases(
    samples: Iterable[tuple[int, float]], *, from_ms: int, from_zero: bool = False
) -> Iterator[tuple[int, float]]:
    """Yield (ts_ms, increase since the previous sample) for samples at or after `from_ms`.

    Samples are one cumulative counter's, in time order; those before `from_ms` only serve as
    the previous value. A drop means the counter was reset: the new value is the increase.
    The first sample is an increase from zero if `from_zero` (the counter's first ever), else
    only the base of the next.
    """
    previous: float | None = 0.0 if from_zero else None
    for ts_ms, value in samples:
        if previous is not None and ts_ms >= from_ms:
            yield ts_ms, value - previous if value >= previous else value
        previous = value


def histogram_increases(
    points: Iterable[tuple[int, Layout, list[int]]], *, from_ms: int, from_zero: bool = False
) -> Iterator[tuple[int, Layout, list[int]]]:
    """Yield (ts_ms, bounds, per-bucket increase) of one cumulative histogram's points in order.

    Like counter_increases: a point whose buckets shrank (or whose bounds changed) starts over,
    and the first point is all increase if `from_zero`.
    """
    previous: tuple[Layout, list[int]] | None = None
    for ts_ms, bounds, counts in points:
        if ts_ms >= from_ms and (previous is not None or from_zero):
            yield ts_ms, bounds, counts if previous is None else _increase(previous, bounds, counts)
        previous = (bounds, counts)


def _increase(previous: tuple[Layout, list[int]], bounds: Layout, counts: list[int]) -> list[int]:
    old_bounds, old_counts = previous
    if old_bounds != bounds or len(old_counts) != len(counts):
        return counts
    deltas = list(map(sub, counts, old_counts))
    return counts if min(deltas) < 0 else deltas


class HistogramSum:
    """Per-bucket counts added up; histograms of different bounds are kept apart until asked."""

    def __init__(self) -> None:
        self.layouts: dict[Layout, list[float]] = {}

    def add(self, bounds: Layout, counts: Sequence[float]) -> None:
        total = self.layouts.get(bounds)
        self.layouts[bounds] = list(counts) if total is None else list(map(add, total, counts))

    def quantile(self, q: float) -> float | None:
        """Return the q-quantile; several layouts merge by upper bound (an approximation)."""
        if len(self.layouts) == 1:
            ((bounds, counts),) = self.layouts.items()
            return quantile_from_buckets(q, bounds, counts)
        merged: dict[float, float] = {}
        for bounds, counts in self.layouts.items():
            for bound, count in zip((*bounds, math.inf), counts, strict=False):
                merged[bound] = merged.get(bound, 0) + count
        ordered = sorted(merged)  # +Inf, present in every layout, sorts last
        return quantile_from_buckets(q, ordered[:-1], [merged[bound] for bound in ordered])


def quantile_from_buckets(
    q: float, bounds: Sequence[float], counts: Sequence[float]
) -> float | None:
    """Return the q-quantile as Prometheus' histogram_quantile does, or None without data.

    `counts` are per bucket, the last one the +Inf bucket. Linear interpolation inside the
    bucket holding the rank; the first bucket starts at 0 (unless its upper bound is ≤ 0, then
    that bound is the answer); a rank in the +Inf bucket answers the highest finite bound.
    """
    cumulative = list(accumulate(counts))
    if not bounds or not cumulative or cumulative[-1] <= 0:
        return None
    rank = q * cumulative[-1]
    index = bisect_left(cumulative, rank, 0, len(bounds))
    if index == len(bounds):
        return bounds[-1]
    if index == 0 and bounds[0] <= 0:
        return bounds[0]
    lower = bounds[index - 1] if index > 0 else 0.0
    below = cumulative[index - 1] if index > 0 else 0
    return lower + (bounds[index] - lower) * (rank - below) / (cumulative[index] - below)


def quantile_from_values(q: float, values: Sequence[float]) -> float | None:
    """Return the q-quantile of raw values, interpolating linearly between the closest ranks.

    The same as numpy's default ("linear") and statistics.quantiles(method="inclusive").
    """
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    lower = math.floor(position)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


# --- log-bucket sketches of raw values ---------------------------------------------------------
#
# A value v > 0 falls in the bucket (γ^(e−1), γ^e] with e = ⌈ln v · SKETCH_SCALE⌉ and
# γ = 2^(1/SKETCH_BUCKETS_PER_OCTAVE); a value v < 0 in (−γ^(e+1), −γ^e] with
# e = ⌊ln(−v) · SKETCH_SCALE⌋; zero in a bucket of its own. The rollup job computes (sign, e)
# in SQL with the same formula. A sketch maps slots to counts; slots are ordered as the values:
# 0 is zero, e + SKETCH_OFFSET for positive values, −(e + SKETCH_OFFSET) for negative ones.

SKETCH_SCALE = SKETCH_BUCKETS_PER_OCTAVE / math.log(2)
_MIN_EXPONENT = -1074 * SKETCH_BUCKETS_PER_OCTAVE  # 2^-1074, the smallest float
_MAX_EXPONENT = 1024 * SKETCH_BUCKETS_PER_OCTAVE - 1  # the largest bound below float max
SKETCH_OFFSET = 1 - _MIN_EXPONENT

Sketch = dict[int, int]


def sketch_slot(sign: int, exponent: int) -> int:
    """Return the slot of a value of `sign` (−1, 0, 1) whose bucket exponent is `exponent`."""
    if sign == 0:
        return 0
    clamped = min(max(int(exponent), _MIN_EXPONENT), _MAX_EXPONENT)
    return sign * (clamped + SKETCH_OFFSET)


def value_slot(value: float) -> int:
    """Return the sketch slot of one value (as the rollup job's SQL computes it)."""
    if value > 0:
        return sketch_slot(1, math.ceil(math.log(value) * SKETCH_SCALE))
    if value < 0:
        return sketch_slot(-1, math.floor(math.log(-value) * SKETCH_SCALE))
    return 0


def slot_upper_bound(slot: int) -> float:
    """Return the upper bound of a slot's bucket (its lower bound is the previous slot's)."""
    if slot == 0:
        return 0.0
    exponent = abs(slot) - SKETCH_OFFSET
    if exponent > _MAX_EXPONENT:  # only the lower bound of the lowest negative slot
        magnitude = sys.float_info.max
    else:
        magnitude = 2.0 ** (exponent / SKETCH_BUCKETS_PER_OCTAVE)
    return magnitude if slot > 0 else -magnitude


def sketch_add(total: Sketch, sketch: Mapping[str, int] | Mapping[int, int]) -> Sketch:
    """Add a sketch (slots as stored JSON keys or ints) into `total`; return `total`."""
    for slot, count in sketch.items():
        key = int(slot)
        total[key] = total.get(key, 0) + count
    return total


def sketch_quantile(q: float, sketch: Mapping[int, int]) -> float | None:
    """Return the q-quantile of the values a sketch counts, interpolating inside a bucket."""
    bounds: list[float] = []
    counts: list[float] = []
    previous: int | None = None
    for slot in sorted(slot for slot, count in sketch.items() if count > 0):
        if previous != slot - 1:  # open the bucket with its lower bound (an empty bucket below)
            bounds.append(slot_upper_bound(slot - 1))
            counts.append(0)
        bounds.append(slot_upper_bound(slot))
        counts.append(sketch[slot])
        previous = slot
    counts.append(0)  # +Inf
    return quantile_from_buckets(q, bounds, counts)
