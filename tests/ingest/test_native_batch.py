"""Native metric points decoded in one pass (metric_batch) store what item-by-item decoding did."""

import itertools
import time

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.ingest import native
from apps.ingest.scrub import ruleset
from apps.ingest.validation import ItemError, clock
from apps.metrics.models import HistogramPoint, Point, PointHead, Series
from apps.metrics.services import points_write, points_write_batch

pytestmark = pytest.mark.django_db

OWN_SERVICE = "OWN"  # replaced by a service of the example's own


def _by_item(items: list, service: str, now) -> tuple[int, list[tuple[int, str]]]:
    """The former path: metric_point for each item, then points_write."""
    points, positions, errors = [], [], []
    for index, raw in enumerate(items):
        try:
            if not isinstance(raw, dict):
                raise ItemError("each item must be a JSON object")
            points.append(native.metric_point(raw, service=service, clock=now, rules=ruleset()))
            positions.append(index)
        except ItemError as exc:
            errors.append((index, str(exc)))
    result = points_write(points=points)
    return result.accepted, sorted(errors + [(positions[i], why) for i, why in result.rejected])


def _in_one_pass(items: list, service: str, now) -> tuple[int, list[tuple[int, str]]]:
    batch = native.metric_batch(items, service=service, clock=now, rules=ruleset())
    result = points_write_batch(batch=batch.items)
    return result.accepted, sorted(batch.errors + result.rejected)


def _stored(service: str) -> list[tuple]:
    def rows(model, *fields):
        return model.objects.filter(series__service__startswith=service).values_list(
            "series__name", "series__type", "series__unit", "series__labels_text", *fields
        )

    points = [*rows(Point, "ts_ms", "value"), *rows(PointHead, "ts_ms", "value")]
    histograms = rows(HistogramPoint, "ts_ms", "count", "sum", "bounds", "bucket_counts")
    return sorted(map(str, [*points, *histograms]))


def _as_received(items: list, service: str) -> list:
    """The items as the view gets them: through JSON, with the example's own service."""
    text = orjson.dumps(items).decode().replace(f'"{OWN_SERVICE}', f'"{service}')
    return orjson.loads(text)


NOW_S = time.time()
_times = st.one_of(
    st.none(),
    st.floats(NOW_S - 3600, NOW_S + 60),
    st.integers(int(NOW_S) - 3600, int(NOW_S) + 60),
    st.sampled_from([NOW_S - 40 * 86400, NOW_S + 3600, -1, 1e12, True, "x"]),
    st.sampled_from(["2026-11-27T12:00:00Z", "2026-11-27T12:00:00"]),
)
_label_values = st.one_of(
    st.sampled_from(["a", "b", "x" * 1100]), st.integers(-3, 3), st.booleans(), st.floats(0, 1)
)
_odd_items = st.one_of(
    st.fixed_dictionaries(
        {
            "name": st.sampled_from(["requests_total", "depth", "bad name", "", "a" * 201]),
            "type": st.sampled_from(["counter", "gauge", "histogram", "timer", "bogus"]),
        },
        optional={
            "value": st.one_of(
                st.floats(-1e9, 1e9), st.integers(-(10**6), 10**6), st.sampled_from(["1", None])
            ),
            "timestamp": _times,
            "labels": st.one_of(
                st.dictionaries(st.sampled_from(["route", "code", ""]), _label_values, max_size=3),
                st.sampled_from([None, ["a"], {str(n): "v" for n in range(33)}]),
            ),
            "unit": st.sampled_from(["s", "bytes", None, 5, "u" * 40]),
            "service": st.sampled_from([OWN_SERVICE, f"{OWN_SERVICE}-2", "", 7, None]),
            "count": st.integers(0, 10),
            "sum": st.floats(0, 10),
            "buckets": st.sampled_from([{"1": 1, "+Inf": 2}, {"1": 3, "2": 1}, {}]),
        },
    ),
    st.sampled_from([None, 5, "point", []]),
)
# Points that pass, sharing names, so that series, aliases and types meet within a batch.
_good_items = st.fixed_dictionaries(
    {
        "name": st.sampled_from(["requests_total", "depth"]),
        "type": st.sampled_from(["counter", "gauge", "histogram", "timer"]),
        "value": st.floats(-1e9, 1e9) | st.integers(-(10**6), 10**6),
    },
    optional={
        "timestamp": st.floats(NOW_S - 3600, NOW_S),
        "labels": st.dictionaries(st.sampled_from(["route", "code"]), _label_values, max_size=2),
        "unit": st.sampled_from(["s", None]),
        "service": st.sampled_from([OWN_SERVICE, None]),
    },
)
_items = st.one_of(_good_items, _good_items, _odd_items)
_examples = itertools.count()


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(first=st.lists(_items, max_size=8), then=st.lists(_items, max_size=8))
def test_one_pass_decoding_stores_what_item_by_item_decoding_stored(
    first, then, django_capture_on_commit_callbacks
):
    example = next(_examples)  # the database is not reset between examples
    old, new = f"old{example}-", f"new{example}-"
    now = clock()

    with django_capture_on_commit_callbacks(execute=True):  # the second batch meets a cache
        expected = [_by_item(_as_received(items, old), old, now) for items in (first, then)]
        got = [_in_one_pass(_as_received(items, new), new, now) for items in (first, then)]

    assert got == expected
    assert _stored(new) == _stored(old)


def test_a_plain_point_only_describes_its_series_the_first_time(
    django_capture_on_commit_callbacks, monkeypatch
):
    described = []
    describe = native._plain_series
    monkeypatch.setattr(native, "_plain_series", lambda *a: described.append(a[-1]) or describe(*a))
    items = [{"name": "depth", "type": "gauge", "value": v, "labels": {"q": "1"}} for v in (1, 2)]

    with django_capture_on_commit_callbacks(execute=True):
        first = _in_one_pass(_as_received(items, "api"), "api", clock())
    second = _in_one_pass(_as_received(items, "api"), "api", clock(time.time_ns() + 10**6))

    assert (first, second) == ((2, []), (2, []))
    assert described == [0]
    assert Series.objects.get().labels == {"q": "1"}
