"""Security event types, severities, threat states and the limits of an ingested event."""

from django.db import models

from apps.core.constants import SEVERITY_BY_NAME, Severity  # noqa: F401  (re-exported)

# The event types API.md names; services may send others of the same shape.
EVENT_TYPES = (
    "auth_failure",
    "auth_success",
    "request",
    "admin_operation",
    "data_access",
    "permission_denied",
)
EVENT_TYPE_MAX_LENGTH = 64
SERVICE_MAX_LENGTH = 200
USER_ID_MAX_LENGTH = 200
ENDPOINT_MAX_LENGTH = 2000
METHOD_MAX_LENGTH = 16
USER_AGENT_MAX_LENGTH = 1000
REASON_MAX_LENGTH = 500
MAX_EVENTS_PER_BATCH = 10_000


# Score thresholds of each severity until an admin changes them (SeverityThresholds).
DEFAULT_THRESHOLDS = {"low": 0.3, "medium": 0.5, "high": 0.75, "critical": 0.9}


# The threat kinds each detector raises (threats store the kind, not the detector), so that
# filtering threats by a detector's name finds all of them.
THREAT_KINDS_BY_DETECTOR = {
    "brute_force": (
        "brute_force",
        "credential_stuffing",
        "password_spraying",
        "success_after_failures",
    ),
    "sql_injection": ("sql_injection",),
    "rate_limit": ("rate_limit", "ddos"),
    "behavioral": ("off_hours", "permission_denied_run", "failed_operations"),
}


class ThreatStatus(models.TextChoices):
    OPEN = "open"
    MITIGATED = "mitigated"
    FALSE_POSITIVE = "false_positive"


class KeyType(models.TextChoices):
    IP = "ip"
    USER = "user"


# Retention bands (apps.core RetentionPolicy keys) by event severity.
RETENTION_KEYS = {
    "security.standard": (Severity.INFO, Severity.LOW, Severity.MEDIUM),
    "security.high": (Severity.HIGH,),
    "security.critical": (Severity.CRITICAL,),
}
