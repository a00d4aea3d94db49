import time

import pytest

from apps.core.models import RetentionPolicy
from apps.logs import tasks
from apps.logs.models import LogRecord
from apps.logs.services import logs_write
from tests.logs.factories import LogInFactory

pytestmark = pytest.mark.django_db

DAY_NS = 86_400 * 1_000_000_000


def _record(body: str, severity: int, age_days: float):
    return LogInFactory(
        body=body, severity_number=severity, ts_ns=time.time_ns() - int(age_days * DAY_NS)
    )


@pytest.fixture
def records():
    logs_write(
        logs=[
            _record("old debug", 5, 10),
            _record("old info", 9, 10),
            _record("ancient warn", 13, 100),
            _record("recent error", 17, 1),
        ]
    )


def _left() -> list[str]:
    return sorted(LogRecord.objects.values_list("body", flat=True))


def test_the_prune_task_applies_each_severity_band_and_twice_is_once(records):
    first = tasks.prune()
    second = tasks.prune()

    assert (first, second) == (2, 0)
    assert _left() == ["old info", "recent error"]


def test_an_admin_edit_of_the_retention_takes_effect(records):
    RetentionPolicy.objects.filter(key="logs.info").update(days=5)

    tasks.prune()

    assert _left() == ["recent error"]
