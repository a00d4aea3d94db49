"""Reading the query string of the metrics API; bad input is a 400 naming the parameter."""

import math
import re

from django.http import QueryDict

from apps.core import params as shared
from apps.core.times import NS_PER_S
from apps.metrics import selectors
from apps.metrics.constants import AGGS, DEFAULT_AGG

LABEL_PREFIX = "label."
MAX_TIME_S = 253_402_300_799  # 9999-12-31T23:59:59Z
_DURATION = re.compile(rf"(?P<number>{shared.NUMBER.pattern})(?P<unit>ms|s|m|h|d)?")
_UNIT_S = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}


def text(params: QueryDict, key: str, *, required: bool = False) -> str | None:
    """Return a non-empty text parameter, or None when absent or empty (400 if required)."""
    value = shared.text(params, key)
    if value is None and required:
        raise shared.invalid(key, "This parameter is required.")
    return value


def label_filters(params: QueryDict) -> dict[str, str]:
    """Return the `label.<name>=<value>` filters."""
    labels = {}
    for key in params:
        if not key.startswith(LABEL_PREFIX):
            continue
        name, value = key[len(LABEL_PREFIX) :], params.get(key, "")
        if not name:
            raise shared.invalid(
                key, "A label filter is label.<name>=<value>: the name is missing."
            )
        if "\x00" in name or "\x00" in value:
            raise shared.invalid(key, "Must not contain NUL characters.")
        labels[name] = value
    return labels


def time_s(params: QueryDict, key: str) -> float | None:
    """Return a time given as epoch seconds or RFC 3339 (UTC if no offset), or None."""
    raw = params.get(key)
    if not raw:
        return None
    ns = shared.epoch_ns(raw)
    if ns is None or not 0 <= ns <= MAX_TIME_S * NS_PER_S:
        raise shared.invalid(key, "Give epoch seconds or an RFC 3339 time, from 1970 to 9999.")
    return ns / NS_PER_S


def step_s(params: QueryDict) -> float | None:
    """Return the step in seconds (a number, optionally with ms, s, m, h or d), or None."""
    raw = params.get("step")
    if not raw:
        return None
    match = _DURATION.fullmatch(raw)
    seconds = float(match["number"]) * _UNIT_S[match["unit"]] if match else math.nan
    if not math.isfinite(seconds) or seconds > MAX_TIME_S:
        raise shared.invalid(
            "step", "step must be a number of seconds (at least 1), like 60 or 5m."
        )
    return seconds


def agg(params: QueryDict) -> str:
    value = params.get("agg") or DEFAULT_AGG
    if value not in AGGS:
        raise shared.invalid("agg", f"agg must be one of {', '.join(AGGS)}.")
    return value


def metric_query(params: QueryDict) -> selectors.MetricQuery:
    """Return the query GET /api/v1/metrics/query asks for."""
    name = text(params, "name", required=True)
    assert name is not None
    try:
        window = selectors.metric_window(
            start_s=time_s(params, "start"), end_s=time_s(params, "end"), step_s=step_s(params)
        )
    except selectors.QueryError as exc:
        raise shared.invalid(exc.field, exc.message) from exc
    return selectors.MetricQuery(
        name=name,
        window=window,
        agg=agg(params),
        service=text(params, "service"),
        labels=label_filters(params),
        group_by=text(params, "group_by"),
    )
