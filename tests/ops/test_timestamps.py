"""Points a millisecond apart, sent as float epoch seconds, are stored at the millisecond sent.

Found by the scale-out test: native ingest turned seconds into nanoseconds with
`int(seconds * 1_000_000_000)`. Near 1.8e18 a double is 256 ns apart, so the product landed just
below the true value for many millisecond times and the truncation stored the millisecond
before; two points one millisecond apart then shared a (series, ts_ms) and the later batch's
point was dropped as a repeat while its batch was answered 200 with it counted as accepted.
Now seconds are rounded to the microsecond (apps/ingest/validation.py, seconds_ns).
"""

import time

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from apps.ingest.validation import seconds_ns
from tests.conftest import key_client
from tests.ops.conftest import stored_points

pytestmark = [pytest.mark.ops, pytest.mark.django_db]

POINTS = 1000


def test_points_a_millisecond_apart_are_both_stored(make_key):
    client = key_client(make_key("ingest"))
    base_ms = (int(time.time()) - 3600) * 1000
    sent = {(base_ms + ms, float(ms)) for ms in range(POINTS)}
    answers = []
    for parity in (0, 1):  # even milliseconds in one batch, odd ones in the next
        points = [
            {"name": "precise", "type": "gauge", "value": value, "timestamp": ts_ms / 1000}
            for ts_ms, value in sorted(sent)
            if ts_ms % 2 == parity
        ]
        body = orjson.dumps({"service": "ops", "points": points})
        answers.append(client.post("/api/v1/ingest/metrics", body, "application/json").json())

    stored = {(ts_ms, value) for _, ts_ms, value in stored_points("precise")}

    assert [a["accepted"] for a in answers] == [POINTS // 2, POINTS // 2]
    assert (len(stored), sorted(sent - stored)[:3]) == (POINTS, [])


@given(ms=st.integers(min_value=0, max_value=4 * 10**12))  # to the year 2096
def test_every_millisecond_time_in_seconds_converts_to_its_own_nanoseconds(ms):
    # Exact while seconds * 1e6 stays below 2**53, i.e. up to the year 2255.
    assert seconds_ns(ms / 1000) == ms * 1_000_000
