"""Rule kind → its evaluator."""

from apps.alerts.evaluators.base import Evaluator, RuleParamsError
from apps.alerts.evaluators.log_match import LogMatch
from apps.alerts.evaluators.metric_absence import MetricAbsence
from apps.alerts.evaluators.metric_threshold import MetricThreshold
from apps.alerts.evaluators.security import SecurityThreats

EVALUATORS: dict[str, Evaluator] = {
    evaluator.kind: evaluator
    for evaluator in (MetricThreshold(), MetricAbsence(), LogMatch(), SecurityThreats())
}


def evaluator_for(kind: str) -> Evaluator:
    """Return the evaluator of a rule kind, or raise RuleParamsError naming the known kinds."""
    try:
        return EVALUATORS[kind]
    except KeyError:
        raise RuleParamsError({"kind": f"one of {', '.join(EVALUATORS)}"}) from None
