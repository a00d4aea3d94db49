"""points_write_batch: plain points as columns named by aliases; each series described once."""

import itertools
import math

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.metrics.models import Series
from apps.metrics.services import (
    PointBatch,
    SeriesIn,
    points_write,
    points_write_batch,
    series_cache_invalidate,
)
from tests.metrics.factories import (
    T0_MS,
    cached_batch_statements,
    histogram,
    point,
    stored,
    stored_count,
)

pytestmark = pytest.mark.django_db


class Described:
    """A describe function over (name, type, labels) per alias that counts its calls."""

    def __init__(self, series: dict) -> None:
        self.series = series
        self.calls: list[int] = []
        self.batch: PointBatch | None = None

    def __call__(self, index: int) -> SeriesIn:
        self.calls.append(index)
        assert self.batch is not None
        name, kind, labels = self.series[self.batch.aliases[index]]
        if name == "refused":
            raise ValueError("name: the caller refuses this series")
        return SeriesIn(name=name, type=kind, service="api", labels=labels)


def _batch(series: dict, points: list[tuple[str, int, float]], **fields) -> PointBatch:
    """A batch of (alias, ts_ms, value) plain points, positions 0, 1, 2, …"""
    describe = Described(series)
    batch = PointBatch(
        aliases=[alias for alias, _, _ in points],
        ts_ms=[ts for _, ts, _ in points],
        values=[value for _, _, value in points],
        positions=list(range(len(points))),
        describe=describe,
        **fields,
    )
    describe.batch = batch
    return batch


def _stored() -> list[tuple]:
    return sorted(stored("series__name", "series__labels_text", "ts_ms", "value"))


SERIES = {"a": ("requests_total", "counter", {"route": "/a"}), "b": ("depth", "gauge", {})}


def test_plain_points_are_stored_under_their_described_series():
    result = points_write_batch(
        batch=_batch(SERIES, [("a", T0_MS, 1.0), ("b", T0_MS, 7.0), ("a", T0_MS + 1, 2.0)])
    )

    assert (result.accepted, result.rejected) == (3, [])
    assert _stored() == [
        ("depth", "{}", T0_MS, 7.0),
        ("requests_total", '{"route":"/a"}', T0_MS, 1.0),
        ("requests_total", '{"route":"/a"}', T0_MS + 1, 2.0),
    ]
    assert Series.objects.get(name="requests_total").type == "counter"


def test_each_new_alias_is_described_once_and_a_cached_one_never(
    django_capture_on_commit_callbacks, settings
):
    settings.AIVMON_METRICS_HEAD_COMPACT_EVERY_MS = 10**15  # no compaction after the write
    first = _batch(SERIES, [("a", T0_MS, 1.0), ("a", T0_MS + 1, 2.0), ("b", T0_MS, 3.0)])
    with django_capture_on_commit_callbacks(execute=True):
        points_write_batch(batch=first)
    again = _batch(SERIES, [("a", T0_MS + 2, 1.0), ("b", T0_MS + 2, 3.0)])

    with CaptureQueriesContext(connection) as captured:
        result = points_write_batch(batch=again)

    assert first.describe.calls == [0, 2]  # type: ignore[union-attr]
    assert again.describe.calls == []  # type: ignore[union-attr]
    statements = [query["sql"].split(" times: ")[-1].split()[0].upper() for query in captured]
    assert statements == cached_batch_statements()
    assert result.accepted == 2


def test_an_alias_of_a_series_known_by_its_key_needs_no_series_query(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        points_write(points=[point("requests_total", labels={"route": "/a"})])

    with CaptureQueriesContext(connection) as captured:
        points_write_batch(batch=_batch(SERIES, [("a", T0_MS + 1, 2.0)]))

    assert not any('"metrics_series"' in query["sql"] for query in captured)
    assert Series.objects.count() == 1


def test_a_refused_description_refuses_every_point_of_its_alias_by_position():
    series = {**SERIES, "x": ("refused", "gauge", {})}
    batch = _batch(series, [("x", T0_MS, 1.0), ("a", T0_MS, 1.0), ("x", T0_MS + 1, 2.0)])
    batch.positions = [10, 11, 12]

    result = points_write_batch(batch=batch)

    reason = "name: the caller refuses this series"
    assert (result.accepted, result.rejected) == (1, [(10, reason), (12, reason)])


def test_an_alias_of_another_type_than_its_series_is_refused_and_not_cached(
    django_capture_on_commit_callbacks,
):
    points_write(points=[point("requests_total", labels={"route": "/a"})])  # a counter
    series = {"g": ("requests_total", "gauge", {"route": "/a"})}

    with django_capture_on_commit_callbacks(execute=True):
        first = points_write_batch(batch=_batch(series, [("g", T0_MS + 1, 5.0)]))
    again = _batch(series, [("g", T0_MS + 2, 5.0)])
    points_write_batch(batch=again)

    assert first.rejected == [
        (0, "metric requests_total is a counter; a gauge point cannot be added to it")
    ]
    assert again.describe.calls == [0]  # type: ignore[union-attr]
    assert stored_count() == 1


def test_the_cardinality_limit_holds_for_aliases(settings):
    settings.AIVMON_MAX_SERIES_PER_METRIC = 2
    series = {n: ("requests_total", "counter", {"n": str(n)}) for n in range(4)}

    result = points_write_batch(batch=_batch(series, [(n, T0_MS, 1.0) for n in range(4)]))

    assert result.accepted == 2
    assert len(result.rejected) == 2
    assert all("has reached its limit of 2 series" in why for _, why in result.rejected)
    assert Series.objects.count() == 2


def test_raw_histogram_observations_of_one_millisecond_are_spread():
    series = {"h": ("request_seconds", "histogram", {})}
    batch = _batch(series, [("h", T0_MS, 0.1), ("h", T0_MS, 0.2), ("h", T0_MS, 0.3)])

    points_write_batch(batch=batch)
    points_write_batch(batch=_batch(series, [("h", T0_MS, 0.1)]))

    assert stored("ts_ms", "value") == [
        (T0_MS, 0.1),
        (T0_MS + 1, 0.2),
        (T0_MS + 2, 0.3),
    ]


def test_plain_and_other_points_are_written_together_and_refused_by_position():
    batch = _batch(SERIES, [("a", T0_MS, 1.0)])
    batch.positions = [1]
    batch.others = [histogram(), point(value=math.nan)]
    batch.other_positions = [0, 2]

    result = points_write_batch(batch=batch)

    assert result.accepted == 2
    assert result.rejected == [(2, "value must be a finite number")]


def test_deleted_series_are_described_again_after_the_epoch_turns(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        points_write_batch(batch=_batch(SERIES, [("a", T0_MS, 1.0)]))
    Series.objects.all().delete()
    series_cache_invalidate()
    again = _batch(SERIES, [("a", T0_MS + 1, 2.0)])

    result = points_write_batch(batch=again)

    assert result.accepted == 1
    assert again.describe.calls == [0]  # type: ignore[union-attr]
    assert stored("series_id") == [Series.objects.get().id]


_examples = itertools.count()
_plain_points = st.lists(
    st.tuples(
        st.sampled_from(["requests_total", "depth", "request_seconds"]),
        st.sampled_from(["counter", "gauge", "histogram"]),
        st.dictionaries(st.sampled_from(["route", "code"]), st.sampled_from(["/", "200"])),
        st.integers(0, 3),  # ms after T0
        st.floats(allow_nan=False, allow_infinity=False) | st.integers(-(10**6), 10**6),
    ),
    max_size=30,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(points=_plain_points)
def test_a_batch_stores_what_points_write_stores(points):
    example = next(_examples)  # the database is not reset between examples
    old, new = f"old-{example}", f"new-{example}"
    as_points = [
        point(name, float(value), type=kind, labels=labels, service=old, ts_ms=T0_MS + ms)
        for name, kind, labels, ms, value in points
    ]
    aliases = [(new, name, kind, tuple(labels.items())) for name, kind, labels, _, _ in points]
    batch = PointBatch(
        aliases=aliases,
        ts_ms=[T0_MS + ms for *_, ms, _ in points],
        values=[float(value) for *_, value in points],
        positions=list(range(len(points))),
        describe=lambda i: SeriesIn(
            name=points[i][0], type=points[i][1], service=new, labels=points[i][2]
        ),
    )

    by_points, by_batch = points_write(points=as_points), points_write_batch(batch=batch)

    assert (by_batch.accepted, by_batch.rejected) == (by_points.accepted, by_points.rejected)
    rows = stored("series__service", "series__name", "ts_ms", "value")
    in_old = sorted(row[1:] for row in rows if row[0] == old)
    in_new = sorted(row[1:] for row in rows if row[0] == new)
    assert in_new == in_old
