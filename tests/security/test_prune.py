"""Security retention: standard events 90 days, high 1 year, critical forever; idempotent."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.core.models import RetentionPolicy
from apps.security import tasks
from apps.security.constants import Severity, ThreatStatus
from apps.security.models import SecurityEvent, Threat
from tests.security.factories import SecurityEventFactory, ThreatFactory

pytestmark = pytest.mark.django_db


def _event(days_ago: int, severity: Severity) -> SecurityEvent:
    return SecurityEventFactory(
        timestamp=timezone.now() - timedelta(days=days_ago), severity=severity
    )


def test_each_severity_band_is_kept_for_its_days_and_critical_forever():
    keep = [
        _event(89, Severity.MEDIUM),
        _event(364, Severity.HIGH),
        _event(3000, Severity.CRITICAL),
    ]
    _event(91, Severity.LOW)
    _event(366, Severity.HIGH)

    deleted = tasks.prune()

    assert deleted == 2
    assert set(SecurityEvent.objects.values_list("pk", flat=True)) == {e.pk for e in keep}


def test_closed_threats_go_with_their_band_and_open_ones_stay():
    old = timezone.now() - timedelta(days=100)
    ThreatFactory(status=ThreatStatus.MITIGATED, severity=Severity.LOW, last_seen=old)
    still_open = ThreatFactory(severity=Severity.LOW, last_seen=old)

    tasks.prune()

    assert list(Threat.objects.values_list("pk", flat=True)) == [still_open.pk]


def test_retention_days_come_from_the_database_and_a_second_run_deletes_nothing():
    RetentionPolicy.objects.filter(key="security.standard").update(days=10)
    _event(11, Severity.INFO)
    kept = _event(9, Severity.INFO)

    first, second = tasks.prune(), tasks.prune()

    assert (first, second) == (1, 0)
    assert list(SecurityEvent.objects.values_list("pk", flat=True)) == [kept.pk]
