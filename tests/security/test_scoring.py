"""One event's threat score from its detections, and its severity under the admin's thresholds."""

import pytest
from django.db import IntegrityError, transaction

from apps.security.constants import Severity
from apps.security.models import SeverityThresholds
from apps.security.scoring import severity_of, threat_score, thresholds_forget
from tests.security.factories import detection


def test_no_detection_scores_zero():
    assert threat_score([]) == 0.0


def test_one_detector_scores_its_strongest_detection():
    found = [detection(0.35), detection(0.6, kind="credential_stuffing")]

    assert threat_score(found) == 0.6


def test_agreeing_detectors_raise_the_score_but_never_past_one():
    alone = threat_score([detection(0.6)])
    agreed = threat_score([detection(0.6), detection(0.8, detector="sql_injection")])
    many = threat_score(
        [detection(1.0), detection(1.0, detector="sql_injection"), detection(1.0, detector="x")]
    )

    assert agreed > 0.8 > alone
    assert many == 1.0


@pytest.mark.parametrize(
    ("score", "severity"),
    [
        (0.0, Severity.INFO),
        (0.29, Severity.INFO),
        (0.3, Severity.LOW),
        (0.5, Severity.MEDIUM),
        (0.75, Severity.HIGH),
        (0.9, Severity.CRITICAL),
        (1.0, Severity.CRITICAL),
    ],
)
@pytest.mark.django_db
def test_default_thresholds_map_scores_to_severities(score, severity):
    assert severity_of(score) == severity


@pytest.mark.django_db
def test_thresholds_are_read_from_the_database():
    SeverityThresholds.objects.update(low=0.1, medium=0.2, high=0.3, critical=0.4)
    thresholds_forget()

    assert severity_of(0.35) == Severity.HIGH


@pytest.mark.django_db
def test_thresholds_out_of_order_are_refused_by_the_database():
    with pytest.raises(IntegrityError), transaction.atomic():
        SeverityThresholds.objects.update(low=0.8, medium=0.2)
