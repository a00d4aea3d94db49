"""metric_threshold: an aggregate of a metric over the last window_s, per series, against a
threshold; breaching only after `for_s` (the engine's pending state)."""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from apps.alerts.evaluators.base import (
    COMPARATORS,
    Observation,
    checked,
    comparator,
    number,
    string_map,
    text,
)
from apps.metrics.constants import AGGS
from apps.metrics.selectors import MetricQuery, metric_query, metric_window
from apps.metrics.sources import Window

MAX_WINDOW_S = 7 * 86400
# Points stamped slightly ahead of this server's clock (client skew) still count as now.
CLOCK_SKEW_S = 5.0


class MetricThreshold:
    kind = "metric_threshold"
    engine_timing = True

    def validate(self, params: Mapping[str, Any]) -> dict[str, Any]:
        errors: dict[str, str] = {}
        agg = params.get("agg", "avg")
        if agg not in AGGS:
            errors["agg"] = f"one of {', '.join(AGGS)}"
        cleaned = {
            "metric": text(params, "metric", errors, required=True),
            "service": text(params, "service", errors, required=False),
            "labels": string_map(params, "labels", errors),
            "group_by": text(params, "group_by", errors, required=False),
            "agg": agg,
            "window_s": number(
                params, "window_s", errors, default=60, minimum=1, maximum=MAX_WINDOW_S
            ),
            "op": comparator(params, errors),
            "threshold": number(params, "threshold", errors),
            "for_s": number(params, "for_s", errors, default=0, minimum=0, maximum=MAX_WINDOW_S),
            "keep_firing_for_s": number(
                params, "keep_firing_for_s", errors, default=0, minimum=0, maximum=MAX_WINDOW_S
            ),
        }
        return checked(cleaned, errors)

    def evaluate(self, params: Mapping[str, Any], *, now: datetime) -> list[Observation]:
        window = self._window(params["window_s"], now)
        query = MetricQuery(
            name=params["metric"],
            window=window,
            agg=params["agg"],
            service=params["service"] or None,
            labels=params["labels"],
            group_by=params["group_by"] or None,
        )
        compare = COMPARATORS[params["op"]]
        observations = []
        for series in metric_query(query=query):
            value = series.points[-1][1] if series.points else None
            labels = (
                {"service": series.service, **series.labels}
                if series.service
                else dict(series.labels)
            )
            breaching = value is not None and compare(value, params["threshold"])
            observations.append(Observation(labels, value, breaching))
        return observations

    @staticmethod
    def _window(window_s: float, now: datetime) -> Window:
        """One bucket over the last window_s seconds, its end stretched by CLOCK_SKEW_S so that
        points stamped slightly ahead of now count too (the look-back stays window_s)."""
        start_s = now.timestamp() - window_s
        end_s = now.timestamp() + CLOCK_SKEW_S
        return metric_window(start_s=start_s, end_s=end_s, step_s=end_s - start_s)

    def metric(self, params: Mapping[str, Any]) -> str | None:
        return params.get("metric")
