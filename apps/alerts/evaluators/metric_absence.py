"""metric_absence: no data from a metric and/or service (or no use of an API key) for for_s."""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from apps.accounts.selectors import api_key_last_used
from apps.alerts.evaluators.base import Observation, RuleParamsError, checked, number, text
from apps.metrics.selectors import series_last_seen

MAX_FOR_S = 30 * 86400


class MetricAbsence:
    kind = "metric_absence"
    engine_timing = False

    def validate(self, params: Mapping[str, Any]) -> dict[str, Any]:
        errors: dict[str, str] = {}
        cleaned = {
            "metric": text(params, "metric", errors, required=False),
            "service": text(params, "service", errors, required=False),
            "api_key": text(params, "api_key", errors, required=False),
            "for_s": number(params, "for_s", errors, default=300, minimum=60, maximum=MAX_FOR_S),
        }
        if not errors and not (cleaned["metric"] or cleaned["service"] or cleaned["api_key"]):
            raise RuleParamsError({"metric": "give a metric, a service or an api_key (prefix)"})
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
        return series_last_seen(name=params["metric"] or None, service=params["service"] or None)
