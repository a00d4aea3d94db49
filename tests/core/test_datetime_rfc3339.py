"""Aware datetimes shown as RFC 3339 in UTC with Z, whatever their offset."""

from datetime import UTC, datetime, timedelta, timezone

from apps.core.times import datetime_rfc3339, optional_rfc3339


def test_a_utc_time_ends_in_z_to_the_microsecond():
    moment = datetime(2026, 11, 28, 12, 43, 36, 535383, tzinfo=UTC)

    assert datetime_rfc3339(moment) == "2026-11-28T12:43:36.535383Z"


def test_a_time_in_another_offset_is_shown_in_utc():
    moment = datetime(2026, 11, 28, 13, 43, 36, tzinfo=timezone(timedelta(hours=1)))

    assert datetime_rfc3339(moment) == "2026-11-28T12:43:36Z"


def test_no_time_stays_none():
    assert optional_rfc3339(None) is None
