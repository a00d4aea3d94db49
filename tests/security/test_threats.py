"""Detections add up to open threats; high and critical ones put their key on the block list."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.audit.services import SYSTEM
from apps.security import services
from apps.security.constants import KeyType, Severity, ThreatStatus
from apps.security.models import BlockListEntry, Threat, ThreatEvent
from apps.security.threats import Sighting, blocks_advise, threats_record
from tests.security.factories import T0, SecurityEventFactory, ThreatFactory, detection

pytestmark = pytest.mark.django_db


def _sightings(*scores: float, kind: str = "brute_force", key: str = "203.0.113.7"):
    events = [SecurityEventFactory(at_s=i) for i in range(len(scores))]
    return [
        Sighting(row.pk, row.timestamp, detection(score, kind=kind, key=key))
        for row, score in zip(events, scores, strict=True)
    ]


def test_detections_of_one_kind_and_key_become_one_open_threat():
    threats_record(sightings=_sightings(0.35, 0.6, 0.4))

    threat = Threat.objects.get()
    assert (threat.kind, threat.key_type, threat.key) == ("brute_force", "ip", "203.0.113.7")
    assert (threat.count, threat.score, threat.severity) == (3, 0.6, Severity.MEDIUM)
    assert threat.first_seen == T0 and threat.last_seen == T0 + timedelta(seconds=2)
    assert threat.status == ThreatStatus.OPEN
    assert ThreatEvent.objects.filter(threat=threat).count() == 3


def test_later_detections_grow_the_open_threat():
    threats_record(sightings=_sightings(0.35))
    threats_record(sightings=_sightings(0.8))

    threat = Threat.objects.get()
    assert (threat.count, threat.score, threat.severity) == (2, 0.8, Severity.HIGH)


def test_other_kinds_and_keys_are_other_threats():
    threats_record(sightings=_sightings(0.4, kind="brute_force"))
    threats_record(sightings=_sightings(0.4, kind="sql_injection"))
    threats_record(sightings=_sightings(0.4, key="198.51.100.1"))

    assert Threat.objects.count() == 3


def test_detections_below_low_make_no_threat():
    assert threats_record(sightings=_sightings(0.1, 0.29)) == []
    assert not Threat.objects.exists()


def test_a_mitigated_threat_stays_closed_and_new_detections_open_a_new_one():
    first = threats_record(sightings=_sightings(0.4))[0]
    services.threat_mitigate(threat=first, actor=SYSTEM)

    threats_record(sightings=_sightings(0.5))

    assert Threat.objects.filter(status=ThreatStatus.OPEN).count() == 1
    assert Threat.objects.get(pk=first.pk).status == ThreatStatus.MITIGATED


def test_mitigating_a_threat_marks_its_events_mitigated():
    threat = threats_record(sightings=_sightings(0.4, 0.5))[0]

    services.threat_mitigate(threat=threat, actor=SYSTEM)

    assert all(event.mitigated for event in threat.events.all())


def test_a_high_threat_is_advised_blocked_for_an_hour_and_a_critical_one_for_a_day():
    now = timezone.now()
    high = ThreatFactory(key="198.51.100.1", severity=Severity.HIGH)
    critical = ThreatFactory(key="198.51.100.2", severity=Severity.CRITICAL)
    medium = ThreatFactory(key="198.51.100.3", severity=Severity.MEDIUM)

    blocks_advise(threats=[high, critical, medium], now=now)

    entries = {entry.key: entry for entry in BlockListEntry.objects.all()}
    assert set(entries) == {"198.51.100.1", "198.51.100.2"}
    assert entries["198.51.100.1"].expires_at == now + timedelta(hours=1)
    assert entries["198.51.100.2"].expires_at == now + timedelta(days=1)
    assert entries["198.51.100.1"].threat == high


def test_renewed_advice_extends_an_entry_and_never_shortens_a_manual_one():
    now = timezone.now()
    threat = ThreatFactory(key="198.51.100.1", severity=Severity.HIGH)
    blocks_advise(threats=[threat], now=now)
    BlockListEntry.objects.create(
        key_type=KeyType.USER, key="mallory", reason="manual", created_at=now, expires_at=None
    )
    user_threat = ThreatFactory(key_type=KeyType.USER, key="mallory", severity=Severity.CRITICAL)

    blocks_advise(threats=[threat, user_threat], now=now + timedelta(minutes=30))

    ip_entry = BlockListEntry.objects.get(key="198.51.100.1")
    assert ip_entry.expires_at == now + timedelta(minutes=90)
    assert BlockListEntry.objects.get(key="mallory").expires_at is None


def test_a_false_positive_lifts_the_advice_it_caused_but_not_a_manual_one(admin_user):
    now = timezone.now()
    threat = ThreatFactory(key="198.51.100.1", severity=Severity.HIGH)
    blocks_advise(threats=[threat], now=now)
    BlockListEntry.objects.create(
        key_type=KeyType.IP,
        key="198.51.100.9",
        reason="manual",
        created_at=now,
        threat=threat,
        created_by=admin_user,
    )

    services.threat_mark_false_positive(threat=threat, actor=SYSTEM)

    assert list(BlockListEntry.objects.values_list("key", flat=True)) == ["198.51.100.9"]
    assert Threat.objects.get().status == ThreatStatus.FALSE_POSITIVE


def test_a_weaker_later_sighting_keeps_the_strongest_reason_and_moves_last_seen():
    threats_record(sightings=_sightings(0.8))
    later = SecurityEventFactory(at_s=60)

    [returned] = threats_record(
        sightings=[Sighting(later.pk, later.timestamp, detection(0.4, reason="weaker"))]
    )

    stored = Threat.objects.get()
    assert (stored.count, stored.score, stored.severity) == (2, 0.8, Severity.HIGH)
    assert stored.reason == "brute_force at 0.8"
    assert (stored.first_seen, stored.last_seen) == (T0, T0 + timedelta(seconds=60))
    assert (returned.pk, returned.count, returned.last_seen) == (stored.pk, 2, stored.last_seen)


def test_every_sighting_links_its_event_to_its_threat():
    sightings = [*_sightings(0.4, 0.5), *_sightings(0.6, kind="sql_injection")]

    threats = threats_record(sightings=sightings)

    linked = {(t.kind, event.pk) for t in threats for event in t.events.all()}
    assert linked == {(s.detection.kind, s.event_id) for s in sightings}


def test_blocks_advise_answers_how_many_entries_it_added_or_extended():
    now = timezone.now()
    high = ThreatFactory(key="198.51.100.1", severity=Severity.HIGH)
    blocks_advise(threats=[high], now=now)
    critical = ThreatFactory(key="198.51.100.2", severity=Severity.CRITICAL)

    changed = blocks_advise(threats=[high, critical], now=now)

    assert changed == 1  # the critical one added; the high one's advice already runs that long
