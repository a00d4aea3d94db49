import pytest
from django.db import connection

from apps.logs.models import LogRecord
from apps.logs.selectors import log_record_list
from apps.logs.services import logs_prune, logs_write
from tests.logs.factories import T0_NS, LogInFactory, S

pytestmark = pytest.mark.django_db

DAY_S = 86_400


@pytest.fixture
def records():
    """A DEBUG, an INFO and an ERROR record (a second apart) on day 0, the same on day 10."""
    logs_write(
        logs=[
            LogInFactory(at_s=day * DAY_S + n, severity_number=number, body=f"{name} day{day}")
            for day in (0, 10)
            for n, (number, name) in enumerate(((5, "debug"), (9, "info"), (17, "error")))
        ]
    )


def _left() -> list[str]:
    return sorted(LogRecord.objects.values_list("body", flat=True))


def test_each_severity_band_goes_at_its_own_cutoff(records):
    removed = logs_prune(
        debug_before_ns=T0_NS + 20 * DAY_S * S,
        info_before_ns=T0_NS + 5 * DAY_S * S,
        warn_before_ns=None,
    )

    assert removed == 3
    assert _left() == ["error day0", "error day10", "info day10"]


def test_pruned_records_leave_the_search_index(records):
    cutoff = T0_NS + 5 * S
    logs_prune(debug_before_ns=cutoff, info_before_ns=cutoff, warn_before_ns=cutoff)

    assert [r.body for r in log_record_list(q="day0")] == []
    assert [r.body for r in log_record_list(q="error")] == ["error day10"]


def test_pruning_works_in_bounded_batches_oldest_first(records):
    cutoff = T0_NS + 5 * DAY_S * S

    assert (
        logs_prune(debug_before_ns=cutoff, info_before_ns=cutoff, warn_before_ns=cutoff, limit=2)
        == 2
    )
    assert _left() == ["debug day10", "error day0", "error day10", "info day10"]
    assert logs_prune(debug_before_ns=cutoff, info_before_ns=cutoff, warn_before_ns=cutoff) == 1
    assert logs_prune(debug_before_ns=cutoff, info_before_ns=cutoff, warn_before_ns=cutoff) == 0


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's own full-text table")
def test_on_sqlite_pruned_records_are_removed_from_the_fts5_table(records):
    logs_prune(debug_before_ns=T0_NS + S, info_before_ns=None, warn_before_ns=None)

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM logs_logrecord_fts WHERE logs_logrecord_fts MATCH 'debug'"
        )
        assert cursor.fetchone() == (1,)


def test_no_cutoffs_keep_everything(records):
    assert logs_prune(debug_before_ns=None, info_before_ns=None, warn_before_ns=None) == 0
    assert len(_left()) == 6
