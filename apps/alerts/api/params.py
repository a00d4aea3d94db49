"""Reading the query strings of the alerts API; bad input is a 400 naming the parameter."""

from django.http import QueryDict

from apps.alerts.constants import AlertState
from apps.core.constants import SEVERITY_BY_NAME
from apps.core.params import invalid, text


def alert_query(params: QueryDict) -> dict:
    """Return the filters GET /api/v1/alerts asks for."""
    state = text(params, "state")
    if state is not None and state not in AlertState.values:
        raise invalid("state", f"One of {', '.join(AlertState.values)}.")
    severity = text(params, "severity")
    if severity is not None and severity.lower() not in SEVERITY_BY_NAME:
        raise invalid("severity", f"One of {', '.join(SEVERITY_BY_NAME)}.")
    return {"state": state, "severity": SEVERITY_BY_NAME[severity.lower()] if severity else None}
