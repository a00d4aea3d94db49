"""Every time in a subject export is RFC 3339 in UTC ending in Z, as API.md asks of times out."""

import re
from datetime import timedelta

import orjson
import pytest

from apps.security.constants import KeyType
from apps.security.models import BlockListEntry
from tests.conftest import key_client
from tests.security.factories import T0, SecurityEventFactory, ThreatFactory

pytestmark = pytest.mark.django_db

RFC3339_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z$")


def _export(make_key) -> dict:
    SecurityEventFactory(user_id="alice")
    ThreatFactory(key_type=KeyType.USER, key="alice", first_seen=T0, last_seen=T0)
    BlockListEntry.objects.create(
        key_type=KeyType.USER,
        key="alice",
        reason="advised",
        created_at=T0,
        expires_at=T0 + timedelta(hours=1),
    )
    response = key_client(make_key("admin")).get("/api/v1/privacy/export", {"user_id": "alice"})
    assert response.status_code == 200
    return orjson.loads(b"".join(response.streaming_content))


def test_export_times_end_in_z(make_key):
    export = _export(make_key)

    times = [
        export["generated_at"],
        export["security_events"][0]["timestamp"],
        export["threats"][0]["first_seen"],
        export["threats"][0]["last_seen"],
        export["blocklist"][0]["created_at"],
        export["blocklist"][0]["expires_at"],
    ]

    assert [bool(RFC3339_Z.match(moment)) for moment in times] == [True] * len(times)


def test_export_shows_a_stored_time_exactly(make_key):
    export = _export(make_key)

    assert export["threats"][0]["first_seen"] == "2026-11-02T10:00:00Z"
    assert export["blocklist"][0]["expires_at"] == "2026-11-02T11:00:00Z"
