"""Evaluating rules: each observation moves its alert along pending → firing → resolved.

One transaction per rule. An alert is keyed by its fingerprint (rule + labels): one active
alert per fingerprint; a breach after it resolved opens a new episode.
"""

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import orjson
from django.db import DatabaseError, transaction

from apps.alerts import lifecycle
from apps.alerts.constants import ACTIVE_STATES, AlertState
from apps.alerts.evaluators.base import Observation
from apps.alerts.evaluators.registry import evaluator_for
from apps.alerts.labels import alert_labels, fingerprint, render, silence_for
from apps.alerts.models import Alert, AlertRule, Silence

logger = logging.getLogger(__name__)


def rules_evaluate(*, rule_ids: list[int] | None = None, now: datetime) -> int:
    """Evaluate the enabled rules (all, or those given); return how many alerts changed state."""
    rules = AlertRule.objects.filter(enabled=True).order_by("pk")
    if rule_ids is not None:
        rules = rules.filter(pk__in=rule_ids)
    silences = silences_active(now=now)
    changed = 0
    for rule in rules:
        try:
            changed += rule_evaluate(rule, now=now, silences=silences)
        except (DatabaseError, ValueError) as exc:  # one broken rule must not stop the others
            logger.warning("alerts.rule.failed", extra={"rule": rule.pk, "error": str(exc)})
    return changed


def silences_active(*, now: datetime) -> list[Silence]:
    return list(
        Silence.objects.filter(starts_at__lte=now, ends_at__gt=now, expired_at__isnull=True)
    )


@transaction.atomic
def rule_evaluate(rule: AlertRule, *, now: datetime, silences: list[Silence]) -> int:
    """Evaluate one rule and apply what it observed; return how many alerts changed state."""
    evaluator = evaluator_for(rule.kind)
    # Params as the kind reads them, defaults filled in (a rule saved before a default existed).
    params = evaluator.validate(rule.params)
    observations = evaluator.evaluate(params, now=now)
    timing = params if evaluator.engine_timing else {}
    active = {
        alert.fingerprint: alert
        for alert in Alert.objects.select_for_update()
        .filter(rule=rule, state__in=ACTIVE_STATES)
        .select_related("rule")
    }
    changed, seen = 0, set()
    for observation in observations:
        labels = alert_labels(rule, observation.labels)
        key = fingerprint(rule.pk, labels)
        seen.add(key)
        changed += _apply(rule, timing, active.get(key), key, labels, observation, now, silences)
    for key, alert in active.items():
        if key not in seen:  # the series or threat is gone: the condition no longer holds
            gone = Observation({}, None, False)
            changed += _apply(rule, timing, alert, key, alert.labels, gone, now, silences)
    return changed


def _apply(
    rule: AlertRule,
    timing: Mapping[str, Any],
    alert: Alert | None,
    key: str,
    labels: Mapping[str, str],
    observation: Observation,
    now: datetime,
    silences: list[Silence],
) -> int:
    if observation.breaching:
        return _breaching(rule, timing, alert, key, labels, observation, now, silences)
    if alert is None:
        return 0
    return _clear(timing, alert, observation, now)


def _breaching(
    rule: AlertRule,
    timing: Mapping[str, Any],
    alert: Alert | None,
    key: str,
    labels: Mapping[str, str],
    observation: Observation,
    now: datetime,
    silences: list[Silence],
) -> int:
    created = alert is None
    if alert is None:
        alert = _open(rule, key, labels, observation, now)
    else:
        _update(alert, observation, now)
    wait = timedelta(seconds=_param(timing, "for_s"))
    if alert.state == AlertState.PENDING and now - alert.starts_at >= wait:
        lifecycle.fire(alert, now=now, silences=silences, reason=_why(rule, alert))
        return 1
    if alert.state == AlertState.SILENCED and silence_for(alert.labels, silences, now) is None:
        lifecycle.fire(alert, now=now, silences=silences, reason="silence ended")
        return 1
    alert.save()
    return int(created)


def _clear(timing: Mapping[str, Any], alert: Alert, observation: Observation, now: datetime) -> int:
    alert.value = observation.value if observation.value is not None else alert.value
    keep = timedelta(seconds=_param(timing, "keep_firing_for_s"))
    if alert.state != AlertState.PENDING and now - alert.last_breach_at < keep:
        alert.save()
        return 0
    lifecycle.resolve(alert, actor=lifecycle.ENGINE, reason="condition cleared", now=now)
    return 1


def _open(
    rule: AlertRule, key: str, labels: Mapping[str, str], observation: Observation, now: datetime
) -> Alert:
    alert = Alert(
        rule=rule,
        fingerprint=key,
        labels=dict(labels),
        value=observation.value,
        details=_details(observation),
        severity=rule.severity if observation.severity is None else observation.severity,
        state="",
        starts_at=now,
        last_breach_at=now,
    )
    _texts(alert)
    lifecycle.transition(
        alert, AlertState.PENDING, actor=lifecycle.ENGINE, reason="breach", now=now
    )
    return alert


def _update(alert: Alert, observation: Observation, now: datetime) -> None:
    alert.value = observation.value
    alert.details = _details(observation)
    if observation.severity is not None:
        alert.severity = observation.severity
    alert.last_breach_at = now
    _texts(alert)


def _details(observation: Observation) -> dict[str, Any]:
    # Stored as JSON: datetimes and the like become text.
    return orjson.loads(orjson.dumps(dict(observation.details), default=str))


def _texts(alert: Alert) -> None:
    rule = alert.rule
    fill = {
        "value": alert.value,
        "labels": alert.labels,
        "rule": rule.name,
        "details": alert.details,
    }
    alert.summary = render(rule.summary_template or _DEFAULT_SUMMARY, **fill)[:2000]
    alert.description = render(rule.description_template, **fill)


_DEFAULT_SUMMARY = "{{ rule }}: {{ value }}"


def _why(rule: AlertRule, alert: Alert) -> str:
    return f"{rule.kind} breached (value {alert.value})"


def _param(params: Mapping[str, Any], key: str) -> float:
    value = params.get(key, 0)
    return float(value) if isinstance(value, int | float) else 0.0
