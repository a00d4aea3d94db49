"""health: each of aivmon's checked components is an alert while it is unhealthy."""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from apps.alerts.evaluators.base import Observation, checked, text
from apps.core.times import datetime_rfc3339
from apps.health.constants import STATUS_RANK, Status
from apps.health.selectors import component_state_list


class ComponentHealth:
    kind = "health"
    engine_timing = False

    def validate(self, params: Mapping[str, Any]) -> dict[str, Any]:
        errors: dict[str, str] = {}
        component = text(params, "component", errors, required=False)
        return checked({"component": component or None}, errors)

    def evaluate(self, params: Mapping[str, Any], *, now: datetime) -> list[Observation]:
        states = component_state_list(name=params.get("component"))
        return [
            Observation(
                {"component": state.name},
                float(STATUS_RANK.get(Status(state.status), 2)),
                state.status == Status.UNHEALTHY,
                {
                    "status": state.status,
                    "checked_at": datetime_rfc3339(state.checked_at),
                    **state.details,
                },
            )
            for state in states
        ]

    def metric(self, params: Mapping[str, Any]) -> str | None:
        return None
