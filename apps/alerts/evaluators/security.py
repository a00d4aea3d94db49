"""security: every open threat at or above a severity is an alert until it is triaged."""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from apps.alerts.evaluators.base import Observation, RuleParamsError
from apps.core.constants import SEVERITY_BY_NAME
from apps.security.constants import ThreatStatus
from apps.security.selectors import threat_list

MAX_THREATS = 500


class SecurityThreats:
    kind = "security"
    engine_timing = False

    def validate(self, params: Mapping[str, Any]) -> dict[str, Any]:
        severity = params.get("min_severity", "high")
        if severity not in SEVERITY_BY_NAME:
            raise RuleParamsError({"min_severity": f"one of {', '.join(SEVERITY_BY_NAME)}"})
        return {"min_severity": severity}

    def evaluate(self, params: Mapping[str, Any], *, now: datetime) -> list[Observation]:
        threats = threat_list(
            status=ThreatStatus.OPEN, min_severity=SEVERITY_BY_NAME[params["min_severity"]]
        )[:MAX_THREATS]
        return [
            Observation(
                {"kind": threat.kind, threat.key_type: threat.key},
                threat.score,
                True,
                {"threat_id": threat.pk, "reason": threat.reason, "count": threat.count},
            )
            for threat in threats
        ]

    def metric(self, params: Mapping[str, Any]) -> str | None:
        return None
