"""The rule engine: pending → firing → resolved per fingerprint, silences, grouping, flapping."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.alerts import engine, notify
from apps.alerts.constants import AlertState
from apps.alerts.models import Alert, AlertTransition, Delivery, NotificationGroup, Silence
from apps.audit.models import AuditEvent
from tests.alerts.factories import ChannelFactory, RuleFactory, cpu

pytestmark = pytest.mark.django_db


def _evaluate(at=None) -> None:
    engine.rules_evaluate(now=at or timezone.now())


def _flush_all(at) -> int:
    return sum(notify.flush(group_id=group.pk, now=at) for group in NotificationGroup.objects.all())


def test_a_breach_fires_an_alert_with_its_labels_value_and_summary():
    rule = RuleFactory()
    cpu(97.5)

    _evaluate()

    alert = Alert.objects.get()
    assert alert.state == AlertState.FIRING
    assert alert.labels == {"service": "api", "host": "a", "alertname": rule.name}
    assert alert.value == 97.5
    assert alert.summary == "CPU on a at 97.5%"
    assert [t.to_state for t in alert.transitions.all()] == ["pending", "firing"]


def test_every_transition_is_audited():
    RuleFactory()
    cpu(97.5)

    _evaluate()

    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"alert.pending", "alert.firing"} <= actions


def test_values_below_the_threshold_raise_nothing():
    RuleFactory()
    cpu(50)

    _evaluate()

    assert not Alert.objects.exists()


def test_an_alert_stays_pending_until_for_s_has_passed():
    rule = RuleFactory()
    rule.params["for_s"] = 120
    rule.save()
    now = timezone.now()
    cpu(97.5, at=now - timedelta(seconds=1))

    _evaluate(now)
    pending = Alert.objects.get().state
    _evaluate(now + timedelta(seconds=121))

    assert pending == AlertState.PENDING
    assert Alert.objects.get().state == AlertState.FIRING


def test_one_active_alert_per_fingerprint_and_one_per_label_set():
    RuleFactory()
    cpu(97, host="a")
    cpu(98, host="b")

    _evaluate()
    _evaluate()

    assert Alert.objects.filter(state=AlertState.FIRING).count() == 2


def test_an_alert_resolves_when_the_condition_clears_and_a_new_breach_is_a_new_episode():
    RuleFactory()
    now = timezone.now()
    cpu(97, at=now - timedelta(seconds=1))
    _evaluate(now)

    _evaluate(now + timedelta(minutes=11))  # the point left the 10-minute window
    cpu(99, at=now + timedelta(minutes=12))
    _evaluate(now + timedelta(minutes=12, seconds=1))

    states = list(Alert.objects.order_by("pk").values_list("state", flat=True))
    assert states == [AlertState.RESOLVED, AlertState.FIRING]


def test_keep_firing_for_holds_a_cleared_alert_a_while():
    rule = RuleFactory()
    rule.params["keep_firing_for_s"] = 300
    rule.save()
    now = timezone.now()
    cpu(97, at=now - timedelta(seconds=1))
    _evaluate(now)
    _evaluate(now + timedelta(minutes=9))  # last breach seen

    _evaluate(now + timedelta(minutes=11))
    held = Alert.objects.get().state
    _evaluate(now + timedelta(minutes=14, seconds=1))

    assert held == AlertState.FIRING
    assert Alert.objects.get().state == AlertState.RESOLVED


def test_a_firing_alert_is_notified_once_its_group_wait_is_over():
    channel = ChannelFactory()
    RuleFactory(channels=[channel])
    now = timezone.now()
    cpu(97, at=now)
    _evaluate(now)

    early = _flush_all(now)
    due = _flush_all(now + timedelta(seconds=1))

    delivery = Delivery.objects.get()
    assert (early, due) == (0, 1)
    assert (delivery.channel, delivery.event) == (channel, "firing")
    assert Alert.objects.get().notified_state == "firing"


def test_a_storm_of_fifty_alerts_is_one_notification_per_channel():
    channel = ChannelFactory()
    RuleFactory(channels=[channel])
    now = timezone.now()
    for host in range(50):
        cpu(97, host=f"h{host}", at=now)
    _evaluate(now)

    _flush_all(now + timedelta(seconds=1))

    delivery = Delivery.objects.get()
    assert delivery.alerts.count() == 50


def test_a_resolved_notification_follows_a_notified_firing():
    RuleFactory(channels=[ChannelFactory()])
    now = timezone.now()
    cpu(97, at=now)
    _evaluate(now)
    _flush_all(now + timedelta(seconds=1))

    _evaluate(now + timedelta(minutes=11))
    _flush_all(now + timedelta(minutes=16))

    assert list(Delivery.objects.order_by("pk").values_list("event", flat=True)) == [
        "firing",
        "resolved",
    ]


def test_an_alert_that_clears_before_its_group_is_notified_sends_nothing():
    RuleFactory(channels=[ChannelFactory()], group_wait_s=30)
    now = timezone.now()
    cpu(97, at=now)
    _evaluate(now)
    _evaluate(now + timedelta(minutes=11))

    _flush_all(now + timedelta(minutes=12))

    assert not Delivery.objects.exists()


def test_a_silenced_alert_is_recorded_but_not_notified_and_fires_when_the_silence_ends():
    RuleFactory(channels=[ChannelFactory()])
    now = timezone.now()
    silence = Silence.objects.create(
        matchers=[{"label": "host", "op": "=", "value": "a"}],
        starts_at=now - timedelta(minutes=1),
        ends_at=now + timedelta(minutes=5),
    )
    cpu(97, at=now)

    _evaluate(now)
    _flush_all(now + timedelta(seconds=2))
    silenced = Alert.objects.get()
    _evaluate(now + timedelta(minutes=6))

    assert silenced.state == AlertState.SILENCED and silenced.silence == silence
    assert Alert.objects.get().state == AlertState.FIRING
    assert not Delivery.objects.filter(created_at__lt=now + timedelta(minutes=6)).exists()


def test_regex_silences_match_whole_label_values():
    RuleFactory()
    now = timezone.now()
    Silence.objects.create(
        matchers=[{"label": "host", "op": "=~", "value": "web-.*"}],
        starts_at=now - timedelta(minutes=1),
        ends_at=now + timedelta(minutes=5),
    )
    cpu(97, host="web-1", at=now)
    cpu(97, host="db-web-1", at=now)

    _evaluate(now)

    states = dict(Alert.objects.values_list("labels__host", "state"))
    assert states == {"web-1": AlertState.SILENCED, "db-web-1": AlertState.FIRING}


def test_a_flapping_alert_is_flagged_and_its_firing_notifications_damped(settings):
    settings.AIVMON_ALERT_FLAP_CHANGES = 4
    RuleFactory(channels=[ChannelFactory()])
    start = timezone.now()
    for cycle in range(4):
        at = start + timedelta(minutes=cycle * 12)
        cpu(97, at=at)
        _evaluate(at)
        _flush_all(at + timedelta(seconds=1))
        _evaluate(at + timedelta(minutes=11))
        _flush_all(at + timedelta(minutes=11, seconds=1))

    last = Alert.objects.order_by("pk").last()
    firing_sent = Delivery.objects.filter(event="firing").count()
    assert last.flapping
    assert firing_sent < 4
    assert AlertTransition.objects.filter(to_state="firing").count() == 4


def _short_window_rule(window_s: int):
    rule = RuleFactory()
    rule.params["window_s"] = window_s
    rule.save()
    return rule


@pytest.mark.parametrize("window_s", [3, 8, 60])
def test_a_point_inside_the_window_counts_even_near_its_start(window_s):
    _short_window_rule(window_s)
    now = timezone.now()
    cpu(97.5, at=now - timedelta(seconds=window_s - 2))

    _evaluate(now)

    assert Alert.objects.get().state == AlertState.FIRING


def test_a_point_older_than_the_window_does_not_count():
    _short_window_rule(8)
    now = timezone.now()
    cpu(97.5, at=now - timedelta(seconds=9))

    _evaluate(now)

    assert not Alert.objects.exists()


def test_a_point_stamped_slightly_ahead_of_now_still_counts():
    _short_window_rule(8)
    now = timezone.now()
    cpu(97.5, at=now + timedelta(seconds=2))

    _evaluate(now)

    assert Alert.objects.get().state == AlertState.FIRING
