"""The threats list's `kind` filter takes a threat kind or the name of the detector raising it."""

import pytest

from apps.security.constants import THREAT_KINDS_BY_DETECTOR
from apps.security.detectors.behavioral import BehavioralDetector
from apps.security.detectors.brute_force import BruteForceDetector
from apps.security.detectors.rate_limit import RateLimitDetector
from apps.security.detectors.sql_injection import SqlInjectionDetector
from tests.security.factories import ThreatFactory

pytestmark = pytest.mark.django_db

THREATS = "/api/v1/security/threats"


def _kinds(response) -> list[str]:
    assert response.status_code == 200, response.content
    return sorted(item["kind"] for item in response.json()["results"])


def test_kind_behavioral_lists_the_threats_the_behavioral_detector_raised(viewer_client):
    for kind in ("off_hours", "permission_denied_run", "failed_operations", "brute_force"):
        ThreatFactory(kind=kind)

    kinds = _kinds(viewer_client.get(THREATS, {"kind": "behavioral"}))

    assert kinds == ["failed_operations", "off_hours", "permission_denied_run"]


def test_kind_brute_force_lists_every_brute_force_kind(viewer_client):
    for kind in ("brute_force", "credential_stuffing", "sql_injection"):
        ThreatFactory(kind=kind)

    kinds = _kinds(viewer_client.get(THREATS, {"kind": "brute_force"}))

    assert kinds == ["brute_force", "credential_stuffing"]


def test_a_single_threat_kind_still_filters_to_that_kind(viewer_client):
    for kind in ("off_hours", "failed_operations"):
        ThreatFactory(kind=kind)

    assert _kinds(viewer_client.get(THREATS, {"kind": "off_hours"})) == ["off_hours"]


def test_every_detector_has_its_kinds_mapped():
    detectors = (BehavioralDetector, BruteForceDetector, RateLimitDetector, SqlInjectionDetector)

    assert {detector.name for detector in detectors} == set(THREAT_KINDS_BY_DETECTOR)
