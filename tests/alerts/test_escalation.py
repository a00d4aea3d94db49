"""Escalation policies and repeats: unacknowledged firing alerts reach further, acked ones stop."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.alerts import engine, notify, services
from apps.alerts.models import (
    Alert,
    AlertRule,
    Delivery,
    EscalationPolicy,
    EscalationStep,
    NotificationGroup,
)
from apps.audit.services import SYSTEM
from tests.alerts.factories import ChannelFactory, RuleFactory, cpu

pytestmark = pytest.mark.django_db


def _policy(*steps: tuple[int, list, str], repeat: bool = False) -> EscalationPolicy:
    policy = EscalationPolicy.objects.create(name="on call", repeat=repeat)
    for position, (after_s, channels, role) in enumerate(steps):
        step = EscalationStep.objects.create(
            policy=policy, position=position, after_s=after_s, role=role
        )
        step.channels.set(channels)
    return policy


def _fire(rule, now):
    cpu(97, at=now)
    engine.rules_evaluate(now=now)
    for group in NotificationGroup.objects.all():
        notify.flush(group_id=group.pk, now=now + timedelta(seconds=1))


def _escalations() -> list[tuple[str, str]]:
    return [
        (d.channel.name if d.channel else "", d.recipients_role)
        for d in Delivery.objects.filter(event="escalated").order_by("pk")
    ]


def test_steps_are_taken_in_order_once_their_time_has_come():
    first, second = ChannelFactory(name="pager"), ChannelFactory(name="manager")
    rule = RuleFactory(escalation_policy=_policy((300, [first], ""), (900, [second], "admin")))
    now = timezone.now()
    _fire(rule, now)

    early = notify.escalate_due(now=now + timedelta(seconds=299))
    notify.escalate_due(now=now + timedelta(seconds=301))
    notify.escalate_due(now=now + timedelta(seconds=901))
    notify.escalate_due(now=now + timedelta(seconds=5000))

    assert early == 0
    assert _escalations() == [("pager", ""), ("manager", ""), ("", "admin")]


def test_acknowledging_stops_escalation():
    rule = RuleFactory(escalation_policy=_policy((300, [ChannelFactory()], "")))
    now = timezone.now()
    _fire(rule, now)
    services.alert_acknowledge(alert=Alert.objects.get(), actor=SYSTEM)

    taken = notify.escalate_due(now=now + timedelta(hours=1))

    assert taken == 0 and _escalations() == []


def test_a_repeating_policy_starts_again_after_its_last_step():
    rule = RuleFactory(escalation_policy=_policy((60, [ChannelFactory(name="p")], ""), repeat=True))
    now = timezone.now()
    _fire(rule, now)

    for minute in range(1, 4):
        notify.escalate_due(now=now + timedelta(seconds=minute * 60 + 1))

    assert len(_escalations()) == 3


def test_a_firing_unacknowledged_alert_is_repeated_after_its_repeat_interval():
    rule = RuleFactory(channels=[ChannelFactory()], repeat_interval_s=3600)
    now = timezone.now()
    _fire(rule, now)

    none_yet = notify.repeat_due(now=now + timedelta(minutes=30))
    due = notify.repeat_due(now=now + timedelta(minutes=61))
    for group in NotificationGroup.objects.all():
        notify.flush(group_id=group.pk, now=now + timedelta(minutes=67))

    assert (none_yet, due) == (0, 1)
    assert Delivery.objects.filter(event="firing").count() == 2


def test_an_acknowledged_alert_is_not_repeated():
    rule = RuleFactory(channels=[ChannelFactory()], repeat_interval_s=60)
    now = timezone.now()
    _fire(rule, now)
    services.alert_acknowledge(alert=Alert.objects.get(), actor=SYSTEM)

    assert notify.repeat_due(now=now + timedelta(hours=2)) == 0


def test_resolved_alerts_past_retention_are_pruned_and_active_ones_kept():
    from apps.alerts import tasks

    rule = RuleFactory(channels=[ChannelFactory()])
    now = timezone.now()
    _fire(rule, now - timedelta(days=100))
    old = Alert.objects.get()
    services.alert_resolve(alert=old, actor=SYSTEM)
    Alert.objects.filter(pk=old.pk).update(ends_at=now - timedelta(days=91))
    cpu(97, host="b", at=now)
    engine.rules_evaluate(now=now)

    deleted, again = tasks.prune(), tasks.prune()

    assert (deleted, again) == (1, 0)
    assert list(Alert.objects.values_list("state", flat=True)) == ["firing"]
    assert not Delivery.objects.exists()


def _disabled_behind_the_services_back(rule) -> None:
    AlertRule.objects.filter(pk=rule.pk).update(enabled=False)


def test_a_disabled_rules_firing_alert_is_neither_repeated_nor_escalated():
    rule = RuleFactory(
        channels=[ChannelFactory()],
        repeat_interval_s=60,
        escalation_policy=_policy((60, [ChannelFactory(name="pager")], "")),
    )
    now = timezone.now()
    _fire(rule, now)
    _disabled_behind_the_services_back(rule)

    repeated = notify.repeat_due(now=now + timedelta(hours=2))
    escalated = notify.escalate_due(now=now + timedelta(hours=2))

    assert (repeated, escalated) == (0, 0)
    assert _escalations() == []


def test_the_tick_resolves_alerts_a_disabled_rule_left_open_and_tells_receivers():
    rule = RuleFactory(channels=[ChannelFactory()])
    now = timezone.now()
    _fire(rule, now)
    _disabled_behind_the_services_back(rule)

    closed = services.disabled_rules_close(now=now + timedelta(minutes=1))
    again = services.disabled_rules_close(now=now + timedelta(minutes=2))
    for group in NotificationGroup.objects.all():
        notify.flush(group_id=group.pk, now=now + timedelta(minutes=10))

    assert (closed, again) == (1, 0)
    assert Alert.objects.get().state == "resolved"
    assert Delivery.objects.filter(event="resolved").count() == 1


def test_saving_a_rule_disabled_resolves_its_pending_and_acknowledged_alerts():
    rule = RuleFactory(channels=[ChannelFactory()])
    rule.params["for_s"] = 600
    rule.save()
    now = timezone.now()
    cpu(97, host="a", at=now)
    cpu(97, host="b", at=now)
    engine.rules_evaluate(now=now)
    services.rule_save(
        rule=rule, fields={"params": {**rule.params, "for_s": 0}}, channels=None, actor=SYSTEM
    )
    engine.rules_evaluate(now=now)
    services.alert_acknowledge(alert=Alert.objects.get(labels__host="a"), actor=SYSTEM)
    rule.refresh_from_db()

    services.rule_save(rule=rule, fields={"enabled": False}, channels=None, actor=SYSTEM)

    assert set(Alert.objects.values_list("state", flat=True)) == {"resolved"}
