"""Rule kind → its evaluator."""

from apps.alerts.evaluators.base import Evaluator, RuleParamsError
from apps.alerts.evaluators.health import ComponentHealth
from apps.alerts.evaluators.log_match import LogMatch
from apps.alerts.evaluators.metric_absence import MetricAbsence
from apps.alerts.evaluators.metric_threshold import MetricThreshold
from apps.alerts.evaluators.security import SecurityThreats
from apps.alerts.evaluators.testruns import (
    FlakyTest,
    ModuleSuccessRate,
    PerfDegradation,
    SuiteSuccessRate,
)

EVALUATORS: dict[str, Evaluator] = {
    evaluator.kind: evaluator
    for evaluator in (
        MetricThreshold(),
        MetricAbsence(),
        LogMatch(),
        SecurityThreats(),
        SuiteSuccessRate(),
        PerfDegradation(),
        ModuleSuccessRate(),
        FlakyTest(),
        ComponentHealth(),
    )
}


def evaluator_for(kind: str) -> Evaluator:
    """Return the evaluator of a rule kind, or raise RuleParamsError naming the known kinds."""
    try:
        return EVALUATORS[kind]
    except KeyError:
        raise RuleParamsError({"kind": f"one of {', '.join(EVALUATORS)}"}) from None
