"""Alert rules as configuration: export every rule, import a set (upsert by name, all or none)."""

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.alerts import services
from apps.alerts.evaluators.base import RuleParamsError
from apps.alerts.evaluators.registry import evaluator_for
from apps.alerts.models import AlertRule, Channel, EscalationPolicy
from apps.audit.services import Actor, audit_record
from apps.core.constants import SEVERITY_BY_NAME, Severity

PLAIN_FIELDS = (
    "kind",
    "params",
    "labels",
    "summary_template",
    "description_template",
    "runbook_url",
    "group_by",
    "group_wait_s",
    "group_interval_s",
    "repeat_interval_s",
    "enabled",
)
MAX_RULES = 1000


class ImportError_(ValueError):
    """The document cannot be imported; `errors` names each rule's problem."""

    def __init__(self, errors: dict[str, Any]) -> None:
        super().__init__(str(errors))
        self.errors = errors


def rules_export() -> dict[str, list[dict[str, Any]]]:
    """Return every rule as plain data, channels and policy by name."""
    rules = AlertRule.objects.prefetch_related("channels").select_related("escalation_policy")
    return {"rules": [_rule_data(rule) for rule in rules.order_by("name")]}


def _rule_data(rule: AlertRule) -> dict[str, Any]:
    data: dict[str, Any] = {"name": rule.name, "severity": Severity(rule.severity).label}
    data.update({name: getattr(rule, name) for name in PLAIN_FIELDS})
    data["channels"] = sorted(channel.name for channel in rule.channels.all())
    data["escalation_policy"] = rule.escalation_policy.name if rule.escalation_policy else None
    return data


def rules_import(*, document: Any, actor: Actor) -> dict[str, int]:
    """Create or update the document's rules by name in one transaction; audited."""
    rules = _rules_of(document)
    channels = {channel.name: channel for channel in Channel.objects.all()}
    policies = {policy.name: policy for policy in EscalationPolicy.objects.all()}
    prepared, errors = [], {}
    for index, raw in enumerate(rules):
        try:
            prepared.append(_prepare(raw, channels, policies))
        except (RuleParamsError, ValueError) as exc:
            errors[f"rules[{index}]"] = getattr(exc, "errors", None) or str(exc)
    if errors:
        raise ImportError_(errors)
    return _save_all(prepared, actor)


def _rules_of(document: Any) -> list[Mapping[str, Any]]:
    rules = document.get("rules") if isinstance(document, dict) else None
    if not isinstance(rules, list) or len(rules) > MAX_RULES:
        raise ImportError_({"rules": f"a list of at most {MAX_RULES} rules"})
    if not all(isinstance(rule, dict) for rule in rules):
        raise ImportError_({"rules": "each rule is an object"})
    if _holds_nul(rules):  # no name or label may, and PostgreSQL text cannot
        raise ImportError_({"rules": "must not contain NUL characters"})
    return rules


def _holds_nul(value: Any) -> bool:
    """Whether a NUL character stands in any string (key or value) of a parsed document."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(key) or _holds_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(map(_holds_nul, value))
    return False


def _prepare(raw: Mapping[str, Any], channels: dict, policies: dict) -> tuple[dict, list]:
    name = raw.get("name")
    if not isinstance(name, str) or not name or len(name) > 200:
        raise ValueError("name: required, at most 200 characters")
    fields = {key: raw[key] for key in PLAIN_FIELDS if key in raw}
    fields["name"] = name
    fields["params"] = evaluator_for(str(raw.get("kind", ""))).validate(raw.get("params") or {})
    severity = raw.get("severity", "medium")
    if severity not in SEVERITY_BY_NAME:
        raise ValueError(f"severity: one of {', '.join(SEVERITY_BY_NAME)}")
    fields["severity"] = SEVERITY_BY_NAME[severity]
    missing = [n for n in raw.get("channels") or [] if n not in channels]
    policy = raw.get("escalation_policy")
    if missing or (policy and policy not in policies):
        raise ValueError(f"unknown channels {missing} or escalation policy {policy!r}")
    fields["escalation_policy"] = policies.get(policy) if policy else None
    _check_fields(fields)
    return fields, [channels[n] for n in raw.get("channels") or []]


def _check_fields(fields: dict[str, Any]) -> None:
    labels, group_by = fields.get("labels", {}), fields.get("group_by", [])
    if not isinstance(labels, dict) or not all(isinstance(v, str) for v in labels.values()):
        raise ValueError("labels: an object of names to string values")
    if not isinstance(group_by, list) or not all(isinstance(v, str) for v in group_by):
        raise ValueError("group_by: a list of label names")
    try:
        AlertRule(**fields).full_clean(validate_unique=False)
    except ValidationError as exc:
        raise ValueError(
            "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
        ) from None


@transaction.atomic
def _save_all(prepared: list[tuple[dict, list]], actor: Actor) -> dict[str, int]:
    created = updated = 0
    now = timezone.now()
    for fields, channels in prepared:
        rule, made = AlertRule.objects.update_or_create(name=fields.pop("name"), defaults=fields)
        rule.channels.set(channels)
        services.rule_alerts_close(rule=rule, actor=actor, now=now)  # imported disabled
        created, updated = created + made, updated + (not made)
    audit_record(
        action="alerts.rules_imported",
        actor=actor,
        target="alert_rules",
        details={"created": created, "updated": updated},
    )
    return {"created": created, "updated": updated}
