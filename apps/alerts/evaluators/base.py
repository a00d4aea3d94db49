"""The one small interface every rule kind's evaluator implements.

`validate` cleans a rule's params (raising RuleParamsError naming the field); `evaluate` reads
through other apps' selectors and answers one Observation per label set it looked at — breaching
or not, so that the engine can resolve what has cleared. `metric` names the metric whose ingest
should trigger an immediate evaluation (None: the schedule only).
"""

import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

COMPARATORS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}


class RuleParamsError(ValueError):
    """A rule's params cannot be used; `errors` maps each field to what is wrong with it."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{key}: {message}" for key, message in errors.items()))
        self.errors = errors


@dataclass(frozen=True, slots=True)
class Observation:
    labels: Mapping[str, str]
    value: float | None
    breaching: bool
    details: Mapping[str, Any] = field(default_factory=dict)
    # The alert's severity when the kind grades it (e.g. a success rate under 80% is critical);
    # None: the rule's severity.
    severity: int | None = None


class Evaluator(Protocol):
    kind: str
    # True: the engine holds a breach pending for params' for_s and keeps a cleared alert
    # firing for keep_firing_for_s. False: the evaluator's own params already cover time.
    engine_timing: bool

    def validate(self, params: Mapping[str, Any]) -> dict[str, Any]: ...

    def evaluate(self, params: Mapping[str, Any], *, now: datetime) -> list[Observation]: ...

    def metric(self, params: Mapping[str, Any]) -> str | None: ...


# --- shared param readers --------------------------------------------------------------------


def number(params: Mapping[str, Any], key: str, errors: dict[str, str], **bounds: float) -> float:
    """Return a finite number param within [minimum, maximum], noting an error otherwise."""
    value = params.get(key, bounds.get("default"))
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        errors[key] = "a finite number is required"
        return 0.0
    if value < bounds.get("minimum", -math.inf) or value > bounds.get("maximum", math.inf):
        errors[key] = f"must be between {bounds.get('minimum')} and {bounds.get('maximum')}"
    return float(value)


def text(params: Mapping[str, Any], key: str, errors: dict[str, str], *, required: bool) -> str:
    """Return a text param (at most 200 characters), noting an error when missing or wrong."""
    value = params.get(key)
    if value is None or value == "":
        if required:
            errors[key] = "required"
        return ""
    if not isinstance(value, str) or len(value) > 200 or "\x00" in value:
        errors[key] = "a string of at most 200 characters"
        return ""
    return value


def comparator(params: Mapping[str, Any], errors: dict[str, str]) -> str:
    op = params.get("op", ">")
    if op not in COMPARATORS:
        errors["op"] = f"one of {' '.join(COMPARATORS)}"
    return op if isinstance(op, str) else ">"


def string_map(params: Mapping[str, Any], key: str, errors: dict[str, str]) -> dict[str, str]:
    value = params.get(key) or {}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        errors[key] = "an object of names to string values"
        return {}
    return value


def checked(cleaned: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    """Return the cleaned params, or raise every error found at once."""
    if errors:
        raise RuleParamsError(errors)
    return cleaned
