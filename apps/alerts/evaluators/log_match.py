"""log_match: how many log records match a full-text query in the last window_s."""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from apps.alerts.evaluators.base import COMPARATORS, Observation, checked, comparator, number, text
from apps.logs.selectors import log_record_list

NS_PER_S = 1_000_000_000


class LogMatch:
    kind = "log_match"
    engine_timing = False

    def validate(self, params: Mapping[str, Any]) -> dict[str, Any]:
        errors: dict[str, str] = {}
        cleaned = {
            "q": text(params, "q", errors, required=True),
            "service": text(params, "service", errors, required=False),
            "window_s": number(params, "window_s", errors, default=300, minimum=1, maximum=86400),
            "op": comparator(params, errors),
            "threshold": number(params, "threshold", errors, default=0),
        }
        return checked(cleaned, errors)

    def evaluate(self, params: Mapping[str, Any], *, now: datetime) -> list[Observation]:
        end_ns = int(now.timestamp() * NS_PER_S)
        records = log_record_list(
            q=params["q"],
            service=params["service"] or None,
            start_ns=end_ns - int(params["window_s"] * NS_PER_S),
            end_ns=end_ns,
        )
        count = records.count()
        breaching = COMPARATORS[params["op"]](count, params["threshold"])
        labels = {"service": params["service"]} if params["service"] else {}
        return [Observation(labels, float(count), breaching)]

    def metric(self, params: Mapping[str, Any]) -> str | None:
        return None
