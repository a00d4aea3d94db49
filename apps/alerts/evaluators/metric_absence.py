"""metric_absence: no data from a metric and/or service (or no use of an API key) for for_s;
with none of them, no metric point at all."""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from apps.accounts.constants import API_KEY_LAST_USED_RESOLUTION_S
from apps.accounts.selectors import api_key_last_used
from apps.alerts.evaluators.base import Observation, checked, number, text
from apps.metrics.constants import LAST_SEEN_RESOLUTION_S
from apps.metrics.selectors import series_last_seen

MAX_FOR_S = 30 * 86400
# Last-seen times are written at most this often: a shorter silence is no sign of absence.
MIN_FOR_S = max(LAST_SEEN_RESOLUTION_S, API_KEY_LAST_USED_RESOLUTION_S)


class MetricAbsence:
    kind = "metric_absence"
    engine_timing = False

    def validate(self, params: Mapping[str, Any]) -> dict[str, Any]:
        errors: dict[str, str] = {}
        cleaned = {
            "metric": text(params, "metric", errors, required=False),
            "service": text(params, "service", errors, required=False),
            "api_key": text(params, "api_key", errors, required=False),
            "for_s": _for_s(params, errors),
        }
        return checked(cleaned, errors)

    def evaluate(self, params: Mapping[str, Any], *, now: datetime) -> list[Observation]:
        last = self._last_seen(params)
        silent_s = (now - last).total_seconds() if last else None
        # The rule's own for_s is the silence allowed, so the engine need not wait again.
        breaching = silent_s is None or silent_s >= params["for_s"]
        labels = {key: params[key] for key in ("metric", "service", "api_key") if params[key]}
        return [Observation(labels, silent_s, breaching, {"last_seen": last})]

    def metric(self, params: Mapping[str, Any]) -> str | None:
        return params.get("metric") or None

    def _last_seen(self, params: Mapping[str, Any]) -> datetime | None:
        if params["api_key"]:
            return api_key_last_used(prefix=params["api_key"])
        # Neither metric nor service: the last point of any series.
        return series_last_seen(name=params["metric"] or None, service=params["service"] or None)


def _for_s(params: Mapping[str, Any], errors: dict[str, str]) -> float:
    for_s = number(params, "for_s", errors, default=300, minimum=MIN_FOR_S, maximum=MAX_FOR_S)
    if "for_s" in errors and errors["for_s"].startswith("must be between"):
        errors["for_s"] = (
            f"must be between {MIN_FOR_S} and {MAX_FOR_S} seconds: when data was last seen is "
            f"recorded at most once every {MIN_FOR_S} s, so a shorter absence cannot be told "
            "apart from a live metric"
        )
    return for_s
