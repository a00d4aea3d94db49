import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.logs import services
from apps.logs.constants import SEVERITY_NUMBERS, severity_text_for
from apps.logs.models import LogRecord
from apps.logs.selectors import log_record_list
from apps.logs.services import logs_write
from tests.logs.factories import T0_NS, LogInFactory

pytestmark = pytest.mark.django_db

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
SPAN = "00f067aa0ba902b7"


def test_it_stores_every_field_of_a_record():
    result = logs_write(
        logs=[
            LogInFactory(
                severity_number=17,
                severity_text="ERROR",
                body="payment failed",
                service="billing",
                attributes={"order": 42, "tags": ["a"]},
                resource={"service.name": "billing", "host.name": "b1"},
                trace_id=TRACE,
                span_id=SPAN,
            )
        ]
    )

    assert (result.accepted, result.rejected) == (1, [])
    stored = LogRecord.objects.get()
    assert (stored.ts_ns, stored.severity_number, stored.severity_text) == (T0_NS, 17, "ERROR")
    assert (stored.body, stored.service) == ("payment failed", "billing")
    assert stored.attributes == {"order": 42, "tags": ["a"]}
    assert stored.resource == {"service.name": "billing", "host.name": "b1"}
    assert (stored.trace_id, stored.span_id) == (TRACE, SPAN)


def test_a_record_without_severity_text_is_named_from_its_number():
    logs_write(logs=[LogInFactory(severity_number=14, severity_text="")])

    assert LogRecord.objects.get().severity_text == "WARN"


def test_a_record_without_trace_is_stored_with_blank_ids():
    logs_write(logs=[LogInFactory()])

    assert (LogRecord.objects.get().trace_id, LogRecord.objects.get().span_id) == ("", "")


def test_a_written_record_is_found_by_its_words_at_once():
    logs_write(logs=[LogInFactory(body="Disk quota exceeded on /var")])

    assert log_record_list(q="quota disk").count() == 1


def test_items_that_cannot_be_stored_are_refused_by_index_and_the_rest_stored():
    logs = [
        LogInFactory(),
        LogInFactory(severity_number=25),
        LogInFactory(ts_ns=-1),
        LogInFactory(trace_id="xyz"),
        LogInFactory(span_id="ABCDEF"),
        LogInFactory(attributes={"when": object()}),
        LogInFactory(),
    ]

    result = logs_write(logs=logs)

    assert result.accepted == 2
    assert [index for index, _ in result.rejected] == [1, 2, 3, 4, 5]
    assert LogRecord.objects.count() == 2


def test_nul_characters_are_dropped_from_text_and_attributes():
    logs_write(logs=[LogInFactory(body="a\x00b", attributes={"k": "v\x00"})])

    stored = LogRecord.objects.get()
    assert (stored.body, stored.attributes) == ("ab", {"k": "v"})


def test_an_empty_batch_writes_nothing():
    with CaptureQueriesContext(connection) as queries:
        result = logs_write(logs=[])

    assert (result.accepted, len(queries)) == (0, 0)


def test_a_batch_takes_the_same_few_queries_whatever_its_size(django_assert_max_num_queries):
    with CaptureQueriesContext(connection) as small:
        logs_write(logs=[LogInFactory() for _ in range(10)])
    with django_assert_max_num_queries(len(small)):
        logs_write(logs=[LogInFactory() for _ in range(500)])
    with django_assert_max_num_queries(5):  # begin, up to 3 statements, commit
        logs_write(logs=[LogInFactory() for _ in range(500)])

    assert LogRecord.objects.count() == 1010
    assert log_record_list(q="served").count() == 1010


def test_the_batch_is_one_transaction(monkeypatch):
    insert = services._insert

    def insert_then_fail(rows):
        insert(rows)
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(services, "_insert", insert_then_fail)
    with pytest.raises(RuntimeError):
        logs_write(logs=[LogInFactory(), LogInFactory()])

    assert LogRecord.objects.count() == 0


@pytest.mark.parametrize(
    ("number", "name"),
    [
        (0, "UNSPECIFIED"),
        (1, "TRACE"),
        (4, "TRACE"),
        (5, "DEBUG"),
        (9, "INFO"),
        (12, "INFO"),
        (13, "WARN"),
        (17, "ERROR"),
        (21, "FATAL"),
        (24, "FATAL"),
        (25, "UNSPECIFIED"),
        (-1, "UNSPECIFIED"),
    ],
)
def test_severity_numbers_name_their_band(number, name):
    assert severity_text_for(number) == name


def test_every_severity_name_maps_to_the_start_of_its_band():
    assert {name: severity_text_for(n) for name, n in SEVERITY_NUMBERS.items()} == {
        "TRACE": "TRACE",
        "DEBUG": "DEBUG",
        "INFO": "INFO",
        "WARN": "WARN",
        "WARNING": "WARN",
        "ERROR": "ERROR",
        "FATAL": "FATAL",
        "CRITICAL": "FATAL",
    }
