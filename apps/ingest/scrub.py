"""PII scrubbing: e-mail addresses, card numbers (Luhn-checked), bearer tokens, aivmon keys, and
the values of attributes named like secrets become "[scrubbed]". Rules live in the database
(ScrubRule, editable in the admin) and are cached per process for a few seconds."""

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from apps.ingest.constants import RULES_CACHE_S, SCRUBBED
from apps.ingest.models import ScrubRule


def luhn_valid(candidate: str) -> bool:
    """True when the digits of candidate pass the Luhn checksum."""
    digits = [int(ch) for ch in candidate if ch.isdigit()]
    if not 13 <= len(digits) <= 19:
        return False
    total = 0
    for position, digit in enumerate(reversed(digits)):
        if position % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


CHECKS: dict[str, Callable[[str], bool]] = {"luhn": luhn_valid}


@dataclass(frozen=True)
class Ruleset:
    values: tuple[tuple[re.Pattern, Callable[[str], bool] | None], ...]
    keys: tuple[re.Pattern, ...]

    def text(self, value: str) -> str:
        """Return value with every match of every value rule replaced."""
        for pattern, check in self.values:
            value = pattern.sub(_replacer(check), value)
        return value

    def attributes(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """Return attrs with secret-named keys' values and matching text replaced, recursively."""
        return {key: self._value(key, value) for key, value in attrs.items()}

    def _value(self, key: str, value: Any) -> Any:
        if key and any(pattern.search(key) for pattern in self.keys):
            return SCRUBBED
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return self.attributes(value)
        if isinstance(value, list):
            return [self._value("", item) for item in value]
        return value


def _replacer(check: Callable[[str], bool] | None) -> Callable[[re.Match], str]:
    if check is None:
        return lambda match: SCRUBBED
    return lambda match: SCRUBBED if check(match.group(0)) else match.group(0)


def ruleset_build(rules: list[ScrubRule]) -> Ruleset:
    """Compile enabled rules (a rule with a broken pattern is skipped, never fatal)."""
    values, keys = [], []
    for rule in rules:
        try:
            compiled = re.compile(rule.pattern)
        except re.error:
            continue
        if rule.kind == ScrubRule.Kind.KEY:
            keys.append(compiled)
        else:
            values.append((compiled, CHECKS.get(rule.verify)))
    return Ruleset(tuple(values), tuple(keys))


_cache: tuple[float, Ruleset] | None = None


def ruleset() -> Ruleset:
    """Return the enabled rules, re-read from the database at most every RULES_CACHE_S."""
    global _cache
    if _cache is None or _cache[0] < time.monotonic():
        rules = list(ScrubRule.objects.filter(enabled=True))
        _cache = (time.monotonic() + RULES_CACHE_S, ruleset_build(rules))
    return _cache[1]


BUILTIN_RULES = [
    ("email", "value", r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}", "", "e-mail addresses"),
    (
        "card_number",
        "value",
        r"\b\d(?:[ -]?\d){12,18}\b",
        "luhn",
        "card numbers that pass the Luhn check",
    ),
    ("bearer_token", "value", r"(?i)\bbearer\s+[A-Za-z0-9\-._~+/]+=*", "", "bearer tokens"),
    ("aivmon_api_key", "value", r"\baivmon_[0-9a-f]{8}_[A-Za-z0-9_\-]+", "", "aivmon API keys"),
    (
        "secret_keys",
        "key",
        r"(?i)pass(?:word|wd)?|secret|token|api[_-]?key|apikey|authorization|credential|"
        r"private[_-]?key|session[_-]?id|cookie",
        "",
        "values of attributes named like secrets",
    ),
]


def scrub_rules_ensure_builtin() -> None:
    """Create the built-in rules that are missing (on by default; admins may disable them)."""
    for name, kind, pattern, verify, description in BUILTIN_RULES:
        ScrubRule.objects.get_or_create(
            name=name,
            defaults={
                "kind": kind,
                "pattern": pattern,
                "verify": verify,
                "builtin": True,
                "description": description,
            },
        )
    ruleset_forget()


def ruleset_forget() -> None:
    """Drop the cached rules (after an admin change in this process; tests)."""
    global _cache
    _cache = None
