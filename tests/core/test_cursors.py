"""List cursors: following `next` sees each item once while items arrive; a forged or foreign
cursor is a 400 in the error envelope, never a 500."""

import base64
import re
from collections import Counter
from datetime import UTC, datetime

import pytest

from apps.core.pagination import encode_cursor, list_tag, sort_keys
from apps.health.models import ComponentState
from apps.logs.models import LogRecord
from apps.logs.services import logs_write
from tests.conftest import key_client
from tests.logs.factories import LogInFactory
from tests.security.factories import SecurityEventFactory

pytestmark = pytest.mark.django_db

# The lists ordered by a number or a time (the audit found 500s on each of these).
TYPED_LISTS = [
    "/api/v1/logs",
    "/api/v1/security/events",
    "/api/v1/metrics/series",
    "/api/v1/traces",
    "/api/v1/testruns",
    "/api/v1/audit",
    "/api/v1/security/threats",
    "/api/v1/alerts",
    "/api/v1/silences",
    "/api/v1/health/code",
    "/api/v1/security/blocklist",
    "/api/v1/health/components/history",
    "/api/v1/health/code/history",
]
TIME_LISTS = [
    "/api/v1/security/events",
    "/api/v1/testruns",
    "/api/v1/security/threats",
    "/api/v1/alerts",
    "/api/v1/silences",
    "/api/v1/security/blocklist",
    "/api/v1/health/components/history",
    "/api/v1/health/code/history",
]
NAME_LISTS = ["/api/v1/health/components", "/api/v1/alert-rules", "/api/v1/channels"]
# Positions no number or time column holds: a word, NUL, past 64 bits, a 13th month.
NOT_A_NUMBER_OR_TIME = ["abc", "\x00", "99999999999999999999999", "2026-13-01"]


def _forged(query: str) -> str:
    """Return a cursor in the form the server gave before keyset cursors (DRF's)."""
    return base64.b64encode(query.encode()).decode()


@pytest.fixture
def reader(make_key):
    return key_client(make_key("read", "admin"))  # admin: the audit log


@pytest.fixture
def garbage_error(reader) -> dict:
    """The error a cursor that does not even decode gets."""
    response = reader.get("/api/v1/logs", {"cursor": "garbage"})
    assert response.status_code == 400
    return response.json()["error"]


def _assert_refused_like_garbage(response, garbage_error: dict) -> None:
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == garbage_error["code"]
    assert set(error["details"]) == {"cursor"}


@pytest.mark.parametrize("path", TYPED_LISTS)
@pytest.mark.parametrize("value", NOT_A_NUMBER_OR_TIME)
def test_a_cursor_position_of_the_wrong_type_is_a_400_like_a_garbage_cursor(
    reader, garbage_error, path, value
):
    response = reader.get(path, {"cursor": _forged(f"p={value}")})

    _assert_refused_like_garbage(response, garbage_error)


@pytest.mark.parametrize("path", TIME_LISTS)
@pytest.mark.parametrize("query", ["p=-1", "p=1&o=2", "p=2026-01-01T00:00:00"])
def test_a_time_list_refuses_a_cursor_position_that_is_no_time_with_an_offset(
    reader, garbage_error, path, query
):
    response = reader.get(path, {"cursor": _forged(query)})

    _assert_refused_like_garbage(response, garbage_error)


@pytest.mark.parametrize("path", NAME_LISTS)
def test_a_name_list_refuses_a_cursor_position_holding_nul(reader, garbage_error, path):
    response = reader.get(path, {"cursor": _forged("p=a\x00b")})

    _assert_refused_like_garbage(response, garbage_error)


@pytest.mark.parametrize("path", TYPED_LISTS + NAME_LISTS[1:])
def test_the_next_of_another_list_is_refused(reader, garbage_error, path):
    for name in ("beat", "database", "redis"):
        ComponentState.objects.create(
            name=name, status="healthy", checked_at=datetime.now(UTC), changed_at=datetime.now(UTC)
        )
    foreign = reader.get("/api/v1/health/components", {"limit": "1"}).json()["next"]

    response = reader.get(path, {"cursor": foreign})

    _assert_refused_like_garbage(response, garbage_error)


def test_a_cursor_of_this_list_with_values_of_the_wrong_type_is_refused(reader, garbage_error):
    keys = sort_keys(LogRecord, ("-ts_ns", "-id"))
    cursor = encode_cursor([("l", list_tag(LogRecord, keys)), ("k", "soon"), ("k", "1")])

    response = reader.get("/api/v1/logs", {"cursor": cursor})

    _assert_refused_like_garbage(response, garbage_error)


def test_a_cursor_with_too_few_values_is_refused(reader, garbage_error):
    keys = sort_keys(LogRecord, ("-ts_ns", "-id"))
    cursor = encode_cursor([("l", list_tag(LogRecord, keys)), ("k", "1")])

    response = reader.get("/api/v1/logs", {"cursor": cursor})

    _assert_refused_like_garbage(response, garbage_error)


def _walk_logs(client, *, limit: int, between_pages) -> list[str]:
    """Follow `next` to the end, calling `between_pages` after each page; return the bodies."""
    seen: list[str] = []
    params = {"limit": str(limit)}
    while True:
        page = client.get("/api/v1/logs", params).json()
        seen += [record["body"] for record in page["results"]]
        if page["next"] is None:
            return seen
        between_pages()
        params["cursor"] = page["next"]


def test_a_walk_sees_each_record_of_equal_times_once_while_newer_ones_arrive(reader):
    originals = [f"original {n:02d}" for n in range(50)]
    logs_write(logs=[LogInFactory(at_s=0, body=body) for body in originals])

    def arrive():  # three newer records, and one more at the same time (a later id)
        logs_write(logs=[LogInFactory(at_s=1 + n, body="newer") for n in range(3)])
        logs_write(logs=[LogInFactory(at_s=0, body="late tie")])

    seen = _walk_logs(reader, limit=7, between_pages=arrive)

    assert Counter(body for body in seen if body.startswith("original")) == Counter(originals)
    assert len(seen) == 50


def test_a_walk_sees_each_event_of_equal_timestamps_once_while_newer_ones_arrive(reader):
    originals = {event.pk for event in SecurityEventFactory.create_batch(20, at_s=0)}
    seen: list[int] = []
    params = {"limit": "3"}
    while True:
        page = reader.get("/api/v1/security/events", params).json()
        seen += [event["id"] for event in page["results"]]
        if page["next"] is None:
            break
        SecurityEventFactory(at_s=60)
        SecurityEventFactory(at_s=0)
        params["cursor"] = page["next"]

    assert sorted(seen) == sorted(originals)


def test_the_next_cursor_goes_into_a_url_as_it_is(reader):
    logs_write(logs=[LogInFactory(at_s=n) for n in range(3)])

    cursor = reader.get("/api/v1/logs", {"limit": "1"}).json()["next"]

    assert re.fullmatch(r"[A-Za-z0-9_-]+", cursor)


def test_a_cursor_given_before_keyset_cursors_still_reaches_its_page(reader):
    logs_write(logs=[LogInFactory(at_s=n, body=f"second {n}") for n in range(5)])
    second_newest = LogRecord.objects.get(body="second 3").ts_ns

    page = reader.get(
        "/api/v1/logs", {"limit": "2", "cursor": _forged(f"p={second_newest}")}
    ).json()

    assert [record["body"] for record in page["results"]] == ["second 2", "second 1"]


def test_an_offset_cursor_given_before_keyset_cursors_skips_as_it_did(reader):
    logs_write(logs=[LogInFactory(at_s=0, body=f"tie {n}") for n in range(4)])
    newest_first = [record["body"] for record in reader.get("/api/v1/logs").json()["results"]]

    page = reader.get("/api/v1/logs", {"cursor": _forged("o=2")}).json()

    assert [record["body"] for record in page["results"]] == newest_first[2:]
