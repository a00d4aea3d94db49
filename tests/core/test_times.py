"""Epoch nanoseconds shown as RFC 3339, and aware datetimes read as epoch nanoseconds."""

from datetime import UTC, datetime, timedelta, timezone

from apps.core.times import MAX_NS, NsTimeField, datetime_ns, rfc3339

T0_NS = 1_764_200_000_000_000_000  # 2025-11-26T23:33:20Z


def test_a_whole_second_is_shown_in_utc_with_z():
    assert rfc3339(T0_NS) == "2025-11-26T23:33:20Z"


def test_a_time_is_shown_to_the_microsecond_cutting_the_nanoseconds():
    assert rfc3339(T0_NS + 123_456_789) == "2025-11-26T23:33:20.123456Z"


def test_the_epoch_and_the_last_storable_nanosecond_are_shown():
    assert (rfc3339(0), rfc3339(MAX_NS)) == (
        "1970-01-01T00:00:00Z",
        "2262-04-11T23:47:16.854775Z",
    )


def test_an_aware_datetime_is_read_exactly_in_epoch_ns():
    moment = datetime(2025, 11, 27, 0, 33, 20, 123456, tzinfo=timezone(timedelta(hours=1)))

    assert datetime_ns(moment) == T0_NS + 123_456_000


def test_a_datetime_before_the_epoch_is_negative():
    assert datetime_ns(datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC)) == -1_000_000_000


def test_the_serializer_field_shows_epoch_ns_as_rfc_3339():
    assert NsTimeField().to_representation(T0_NS) == "2025-11-26T23:33:20Z"
