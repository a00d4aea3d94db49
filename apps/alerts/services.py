"""Alert writes: rules, channels, silences, and what people do to alerts (all audited)."""

from collections.abc import Mapping
from datetime import datetime
from functools import partial
from typing import Any

from celery import current_app
from django.db import transaction
from django.utils import timezone

from apps.alerts import lifecycle, triggers
from apps.alerts.channels.registry import channel_for
from apps.alerts.constants import (
    ACTIVE_STATES,
    LABEL_MAX_LENGTH,
    AlertState,
    DeliveryStatus,
    Event,
)
from apps.alerts.crypto import secrets_decrypt, secrets_encrypt
from apps.alerts.delivery import delivery_attempt
from apps.alerts.evaluators.registry import evaluator_for
from apps.alerts.labels import SILENCE_OPS, silence_matches
from apps.alerts.models import Alert, AlertRule, Channel, Delivery, Silence
from apps.audit.services import Actor, audit_record
from apps.core.linear_regex import PatternError, compiled
from apps.core.times import datetime_rfc3339

RULE_FIELDS = (
    "name",
    "kind",
    "params",
    "labels",
    "severity",
    "summary_template",
    "description_template",
    "runbook_url",
    "escalation_policy",
    "group_by",
    "group_wait_s",
    "group_interval_s",
    "repeat_interval_s",
    "enabled",
)


class AlertError(ValueError):
    """A change that cannot be made; `errors` maps fields to what is wrong."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{key}: {message}" for key, message in errors.items()))
        self.errors = errors


# --- people acting on alerts ------------------------------------------------------------------


def alert_acknowledge(*, alert: Alert, actor: Actor, reason: str = "") -> Alert:
    """Acknowledge a firing alert: no repeats or escalation until it resolves; audited."""
    with transaction.atomic():
        alert = Alert.objects.select_for_update().select_related("rule").get(pk=alert.pk)
        if alert.state != AlertState.FIRING:
            raise AlertError(
                {"state": f"only a firing alert can be acknowledged (it is {alert.state})"}
            )
        lifecycle.acknowledge(
            alert, actor=actor, reason=reason or "acknowledged", now=timezone.now()
        )
    return alert


def alert_resolve(*, alert: Alert, actor: Actor, reason: str = "") -> Alert:
    """Resolve an active alert by hand; a breach after this opens a new episode; audited."""
    with transaction.atomic():
        alert = Alert.objects.select_for_update().select_related("rule").get(pk=alert.pk)
        if alert.state not in ACTIVE_STATES:
            raise AlertError({"state": f"the alert is already {alert.state}"})
        lifecycle.resolve(
            alert, actor=actor, reason=reason or "resolved by hand", now=timezone.now()
        )
    return alert


# --- rules ------------------------------------------------------------------------------------


def rule_params_clean(kind: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """Return a rule kind's params cleaned by its evaluator (RuleParamsError says what is wrong)."""
    return evaluator_for(kind).validate(params)


def rule_save(
    *,
    rule: AlertRule | None,
    fields: Mapping[str, Any],
    channels: list[Channel] | None,
    actor: Actor,
) -> AlertRule:
    """Create a rule (rule=None) or change one; its params are checked by its kind; audited.
    Disabling a rule resolves its open alerts (receivers told they were firing hear so)."""
    creating = rule is None
    rule = rule or AlertRule()
    for name in RULE_FIELDS:
        if name in fields:
            setattr(rule, name, fields[name])
    rule.params = rule_params_clean(rule.kind, rule.params)
    triggers.rules_forget()
    with transaction.atomic():
        rule.save()
        if channels is not None:
            rule.channels.set(channels)
        audit_record(
            action="alerts.rule_created" if creating else "alerts.rule_changed",
            actor=actor,
            target=f"alert_rule:{rule.pk}",
            details={"name": rule.name, "kind": rule.kind},
        )
        rule_alerts_close(rule=rule, actor=actor, now=timezone.now())
    return rule


def rule_alerts_close(*, rule: AlertRule, actor: Actor, now: datetime) -> int:
    """Resolve the open alerts of a disabled rule (nothing when it is enabled); return how many.

    A disabled rule is no longer evaluated, so nothing else would ever end its alerts, and
    their repeats and escalations would go on. Callers hold the transaction."""
    if rule.enabled:
        return 0
    open_alerts = (
        Alert.objects.select_for_update()
        .filter(rule=rule, state__in=ACTIVE_STATES)
        .select_related("rule")
        .order_by("pk")
    )
    closed = 0
    for alert in open_alerts:
        lifecycle.resolve(alert, actor=actor, reason="rule disabled", now=now)
        closed += 1
    return closed


def disabled_rules_close(*, now: datetime) -> int:
    """Resolve what disabled rules left open (a rule disabled by a path that did not close its
    alerts); return how many alerts were resolved."""
    closed = 0
    for rule in AlertRule.objects.filter(enabled=False, alerts__state__in=ACTIVE_STATES).distinct():
        with transaction.atomic():
            closed += rule_alerts_close(rule=rule, actor=lifecycle.ENGINE, now=now)
    return closed


def rule_delete(*, rule: AlertRule, actor: Actor) -> None:
    """Delete a rule and its alerts; audited."""
    _delete_audited(rule, "alerts.rule_deleted", f"alert_rule:{rule.pk}", actor)


def _delete_audited(item: AlertRule | Channel, action: str, target: str, actor: Actor) -> None:
    with transaction.atomic():
        name = item.name
        item.delete()
        audit_record(action=action, actor=actor, target=target, details={"name": name})


# --- channels ---------------------------------------------------------------------------------


def channel_config_split(kind: str, config: Mapping[str, Any]) -> tuple[dict, dict]:
    """Return the channel's config cleaned by its plug-in, split into plain and secret parts."""
    plugin = channel_for(kind)
    cleaned = plugin.validate(config)
    secret = {key: cleaned.pop(key) for key in plugin.secret_fields if key in cleaned}
    return cleaned, secret


def channel_save(
    *,
    channel: Channel | None,
    name: str,
    kind: str,
    config: Mapping[str, Any] | None,
    enabled: bool = True,
    actor: Actor,
) -> Channel:
    """Create or change a channel; the config it ends with (after a change of kind too) is
    checked by its kind's plug-in; secret fields are stored encrypted; audited (no secrets)."""
    creating = channel is None
    channel = channel or Channel(kind=kind)
    if creating or config is not None or kind != channel.kind:
        plain, secret = _channel_config_checked(channel, kind, config)
        channel.config, channel.secrets_token = plain, secrets_encrypt(secret) if secret else ""
    channel.name, channel.kind, channel.enabled = name, kind, enabled
    with transaction.atomic():
        channel.save()
        audit_record(
            action="alerts.channel_created" if creating else "alerts.channel_changed",
            actor=actor,
            target=f"channel:{channel.pk}",
            details={"name": channel.name, "kind": channel.kind},
        )
    return channel


def channel_config_merged(
    channel: Channel, kind: str, config: Mapping[str, Any] | None
) -> dict[str, Any]:
    """Return the config a change leaves the channel with, before its kind checks it.

    Secrets are write-only, so a config without them keeps the stored ones, but only those
    that are secrets of `kind` too: a change of kind never turns a stored secret into a
    plain field shown again. With no config given (a change of kind alone), the stored plain
    config is kept as well.
    """
    stored = secrets_decrypt(channel.secrets_token) if channel.secrets_token else {}
    secret_fields = channel_for(kind).secret_fields
    kept = {key: value for key, value in stored.items() if key in secret_fields}
    plain = dict(channel.config) if config is None else {}
    return {**plain, **kept, **(config or {})}


def _channel_config_checked(
    channel: Channel, kind: str, config: Mapping[str, Any] | None
) -> tuple[dict, dict]:
    try:
        return channel_config_split(kind, channel_config_merged(channel, kind, config))
    except ValueError as exc:
        if config is None and kind != channel.kind:
            raise ValueError(
                f"the stored config of this {channel.kind} channel does not suit a {kind} "
                f"channel ({exc}): send the whole config for {kind} with the new kind"
            ) from exc
        raise


def channel_test(*, channel: Channel, actor: Actor) -> Delivery:
    """Send a test notification through the channel once, now; audited, in the ledger."""
    now = timezone.now()
    delivery = Delivery.objects.create(channel=channel, event=Event.TEST, created_at=now)
    delivery_attempt(delivery_id=delivery.pk, now=now, retry=False)
    audit_record(action="alerts.channel_tested", actor=actor, target=f"channel:{channel.pk}")
    delivery.refresh_from_db()
    return delivery


def channel_delete(*, channel: Channel, actor: Actor) -> None:
    """Delete a channel (rules keep their other channels); audited."""
    _delete_audited(channel, "alerts.channel_deleted", f"channel:{channel.pk}", actor)


# --- silences ---------------------------------------------------------------------------------


def silence_matchers_clean(matchers: Any) -> list[dict[str, str]]:
    """Return label matchers [{"label", "op", "value"}], or raise AlertError."""
    if not isinstance(matchers, list) or not matchers or len(matchers) > 32:
        raise AlertError({"matchers": "a list of 1 to 32 {label, op, value} matchers"})
    cleaned = []
    for matcher in matchers:
        if not isinstance(matcher, dict):
            raise AlertError({"matchers": "each matcher is an object {label, op, value}"})
        label, op, value = matcher.get("label"), matcher.get("op", "="), matcher.get("value")
        if (
            not isinstance(label, str)
            or not label
            or not isinstance(value, str)
            or op not in SILENCE_OPS
        ):
            raise AlertError(
                {"matchers": f"label and value strings, op one of {' '.join(SILENCE_OPS)}"}
            )
        _matcher_length(label, value)
        if op in ("=~", "!~"):
            _regex(value)
        cleaned.append({"label": label, "op": op, "value": value})
    return cleaned


def _matcher_length(label: str, value: str) -> None:
    # Stored whole or refused: a cut value would silence other alerts than asked (or, a regex,
    # no longer compile). Alert labels are cut at the same length, so no longer value matches.
    longest = max(len(label), len(value))
    if longest > LABEL_MAX_LENGTH:
        raise AlertError(
            {
                "matchers": f"a matcher's label and value are at most {LABEL_MAX_LENGTH} "
                f"characters (one has {longest})"
            }
        )


def _regex(value: str) -> None:
    try:
        compiled(value)
    except PatternError as exc:
        raise AlertError(
            {
                "matchers": f"bad regular expression {value!r} (RE2 syntax, as Alertmanager's: "
                f"no backreferences or lookaround): {exc}"
            }
        ) from None


def silence_create(
    *,
    matchers: Any,
    starts_at: datetime,
    ends_at: datetime,
    comment: str,
    user: Any,
    actor: Actor,
) -> Silence:
    """Silence alerts matching every matcher between start and end; matching active alerts
    are silenced at once (still recorded); audited."""
    if ends_at <= starts_at:
        raise AlertError({"ends_at": "must be after starts_at"})
    with transaction.atomic():
        silence = Silence.objects.create(
            matchers=silence_matchers_clean(matchers),
            starts_at=starts_at,
            ends_at=ends_at,
            comment=comment,
            created_by=user,
            creator=(actor.label or actor.id)[:200],
        )
        _silence_firing(silence)
        audit_record(
            action="alerts.silence_created",
            actor=actor,
            target=f"silence:{silence.pk}",
            details={
                "matchers": silence.matchers,
                "ends_at": datetime_rfc3339(ends_at),
                "comment": comment,
            },
        )
    return silence


def _silence_firing(silence: Silence) -> None:
    now = timezone.now()
    if not silence.starts_at <= now < silence.ends_at:
        return
    for alert in (
        Alert.objects.select_for_update().filter(state=AlertState.FIRING).select_related("rule")
    ):
        if silence_matches(silence, alert.labels):
            alert.silence = silence
            lifecycle.transition(
                alert,
                AlertState.SILENCED,
                actor=lifecycle.ENGINE,
                reason=f"silence #{silence.pk}",
                now=now,
            )


def silence_expire(*, silence: Silence, actor: Actor) -> Silence:
    """End a silence now (its alerts fire again at the next evaluation if still breaching)."""
    with transaction.atomic():
        now = timezone.now()
        silence.expired_at = now
        silence.ends_at = min(silence.ends_at, now)
        silence.save(update_fields=["expired_at", "ends_at"])
        audit_record(action="alerts.silence_expired", actor=actor, target=f"silence:{silence.pk}")
    return silence


def deliveries_replay(*, delivery_ids: list[int], actor: Actor, now: datetime) -> int:
    """Queue dead deliveries again from their first attempt; audited."""
    with transaction.atomic():
        dead = list(
            Delivery.objects.select_for_update().filter(
                pk__in=delivery_ids, status=DeliveryStatus.DEAD
            )
        )
        for delivery in dead:
            delivery.status, delivery.attempts, delivery.next_attempt_at = (
                DeliveryStatus.PENDING,
                0,
                None,
            )
            delivery.save(update_fields=["status", "attempts", "next_attempt_at"])
            transaction.on_commit(
                partial(current_app.send_task, "aivmon.alerts.deliver", args=[delivery.pk])
            )
        if dead:
            audit_record(
                action="alerts.deliveries_replayed",
                actor=actor,
                target="deliveries",
                details={"ids": [delivery.pk for delivery in dead]},
            )
    return len(dead)


def alerts_prune(*, before: datetime, limit: int = 2000) -> int:
    """Delete up to `limit` alerts resolved before `before` (with their transitions), their
    deliveries, and test deliveries as old; call again until it answers 0."""
    with transaction.atomic():
        ids = list(
            Alert.objects.filter(state=AlertState.RESOLVED, ends_at__lt=before)
            .order_by("ends_at")
            .values_list("pk", flat=True)[:limit]
        )
        Delivery.objects.filter(alerts__in=ids).delete()
        Delivery.objects.filter(event=Event.TEST, created_at__lt=before).delete()
        Alert.objects.filter(pk__in=ids).delete()
    return len(ids)
