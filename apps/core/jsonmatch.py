"""Matching query-string values against keys of a JSON column (span and log attributes)."""

import math
import re
from typing import Any

from django.db.models import Q, QuerySet
from django.db.models.fields.json import KeyTransform

from apps.core.params import NUMBER

_INT = re.compile(r"[+-]?[0-9]{1,18}")


def json_keys_match(records: QuerySet, field: str, wanted: dict[str, list[str]]) -> QuerySet:
    """Narrow `records` to those whose JSON `field` has, for each key, one of the wanted values."""
    # A query-string value matches the same text, and also the number or boolean it spells:
    # "200" matches 200 and "200", "true" matches true and "true".
    for index, (key, values) in enumerate(wanted.items()):
        alias = f"_json_key_{index}"
        records = records.alias(**{alias: KeyTransform(key, field)})
        condition = Q()
        for value in values:
            for candidate in json_candidates(value):
                condition |= Q(**{alias: candidate})
        records = records.filter(condition)
    return records


def json_candidates(value: str) -> list[Any]:
    """Return the JSON values a query-string value stands for: itself, and a number or boolean."""
    candidates: list[Any] = [value]
    if _INT.fullmatch(value):
        candidates.append(int(value))
    elif NUMBER.fullmatch(value) and math.isfinite(float(value)):
        candidates.append(float(value))
    elif value in ("true", "false"):
        candidates.append(value == "true")
    return candidates
