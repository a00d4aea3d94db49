"""An alert's labels and fingerprint, its rule's templates filled in, and silence matching."""

import hashlib
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import orjson

from apps.alerts.constants import LABEL_MAX_LENGTH
from apps.alerts.models import AlertRule, Silence
from apps.core.linear_regex import PatternError, fullmatches

SILENCE_OPS = ("=", "!=", "=~", "!~")
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][\w.]*)\s*\}\}")


def alert_labels(rule: AlertRule, observed: Mapping[str, str]) -> dict[str, str]:
    """Return the alert's labels: the rule's static labels, what was observed, and alertname."""
    merged = {**rule.labels, **observed, "alertname": rule.name}
    return {
        str(key)[:LABEL_MAX_LENGTH]: str(value)[:LABEL_MAX_LENGTH] for key, value in merged.items()
    }


def fingerprint(rule_id: int, labels: Mapping[str, str]) -> str:
    """Return the dedup key of a rule and label set: one active alert per fingerprint."""
    canonical = orjson.dumps({"rule": rule_id, "labels": labels}, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()


def group_key(rule: AlertRule, labels: Mapping[str, str]) -> str:
    """Return the key of the notification group: the rule and its group_by label values."""
    values = {name: labels.get(name, "") for name in rule.group_by}
    canonical = orjson.dumps({"rule": rule.pk, "group": values}, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()[:32]


def render(
    template: str,
    *,
    value: float | None,
    labels: Mapping[str, str],
    rule: str,
    details: Mapping[str, Any] | None = None,
) -> str:
    """Fill `{{ value }}`, `{{ rule }}`, `{{ labels.<name> }}` (or `{{ <name> }}`) and
    `{{ details.<key> }}` in."""
    context: dict[str, Any] = {"value": _number(value), "rule": rule}

    def lookup(match: re.Match) -> str:
        name = match.group(1)
        if name in context:
            return str(context[name])
        if name.startswith("details."):
            found = (details or {}).get(name.removeprefix("details."))
            return match.group(0) if found is None else str(found)
        key = name.removeprefix("labels.")
        return labels.get(key, match.group(0))

    return _PLACEHOLDER.sub(lookup, template)


def _number(value: float | None) -> str:
    if value is None:
        return "no data"
    return f"{value:.6g}"


def silence_matches(silence: Silence, labels: Mapping[str, str]) -> bool:
    """True when every matcher of the silence holds for the labels."""
    return all(_matcher_holds(matcher, labels) for matcher in silence.matchers)


def _matcher_holds(matcher: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    actual, op, wanted = labels.get(matcher["label"], ""), matcher["op"], matcher["value"]
    if op in ("=", "!="):
        return (actual == wanted) == (op == "=")
    try:
        found = fullmatches(wanted, actual)  # RE2: linear in the label's length
    except PatternError:
        # Checked when the silence was made; one stored before that check silences nothing.
        return False
    return found == (op == "=~")


def silence_for(
    labels: Mapping[str, str], silences: list[Silence], now: datetime
) -> Silence | None:
    """Return an active silence matching the labels, if any."""
    for silence in silences:
        if silence.starts_at <= now < silence.ends_at and silence_matches(silence, labels):
            return silence
    return None
