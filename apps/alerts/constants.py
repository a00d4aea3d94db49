"""Alert states, rule kinds, delivery states, and the engine's defaults."""

from django.db import models

from apps.core.constants import SEVERITY_BY_NAME, Severity  # noqa: F401  (re-exported)


class AlertState(models.TextChoices):
    PENDING = "pending"
    FIRING = "firing"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    SILENCED = "silenced"


ACTIVE_STATES = (
    AlertState.PENDING,
    AlertState.FIRING,
    AlertState.ACKNOWLEDGED,
    AlertState.SILENCED,
)


class DeliveryStatus(models.TextChoices):
    PENDING = "pending"
    RETRYING = "retrying"
    SENT = "sent"
    DEAD = "dead"  # the last attempt failed, or a final error: replayable from the admin


class Event(models.TextChoices):
    """What a notification says happened."""

    FIRING = "firing"
    RESOLVED = "resolved"
    ACKNOWLEDGED = "acknowledged"
    ESCALATED = "escalated"
    TEST = "test"


LABEL_MAX_LENGTH = 200
NAME_MAX_LENGTH = 200
TEXT_MAX_LENGTH = 2000
MAX_LABELS = 32
FLAP_WINDOW_S = 3600
