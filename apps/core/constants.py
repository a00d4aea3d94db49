from django.db import models

HEARTBEAT_KEY = "aivmon:worker:heartbeat"

# Retention defaults (DESIGN.md); each editable in the admin. None keeps data forever.
RETENTION_DEFAULTS: dict[str, tuple[int | None, str]] = {
    "metrics.raw": (7, "metric points, raw"),
    "metrics.hourly": (30, "metric rollups, hourly"),
    "metrics.daily": (365, "metric rollups, daily"),
    "traces.all": (3, "traces without errors"),
    "traces.error": (90, "traces with an error"),
    "logs.debug": (7, "log records below INFO"),
    "logs.info": (30, "log records at INFO (access logs)"),
    "logs.warn": (90, "log records at WARN and above"),
    "security.standard": (90, "security events, standard"),
    "security.high": (365, "security events, high"),
    "security.critical": (None, "security events, critical"),
    "alerts.resolved": (90, "resolved alerts with their transitions and deliveries"),
    "testruns.runs": (180, "test runs with their case results"),
}


class Severity(models.IntegerChoices):
    """How bad something is: security events and threats, alerts and their rules."""

    INFO = 0, "info"
    LOW = 1, "low"
    MEDIUM = 2, "medium"
    HIGH = 3, "high"
    CRITICAL = 4, "critical"


SEVERITY_BY_NAME = {label: value for value, label in Severity.choices}
