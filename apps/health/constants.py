from django.db import models

DEFAULT_COMPONENT = "aivmon"
DEFAULT_COMPONENT_PATH = "apps"  # relative paths are under settings.BASE_DIR
HOST_SERVICE = "aivmon"
HOST_FIGURES_KEY = "aivmon:health:host"
HOST_FIGURES_TTL_S = 3600  # older figures are not "latest" any more


class CodeStatus(models.TextChoices):
    HEALTHY = "healthy"
    PARTIAL = "partial"
    UNHEALTHY = "unhealthy"


class Status(models.TextChoices):
    """A checked component's status, best to worst."""

    HEALTHY = "healthy"
    DEGRADED = "degraded"
    UNHEALTHY = "unhealthy"


STATUS_RANK = {Status.HEALTHY: 0, Status.DEGRADED: 1, Status.UNHEALTHY: 2}
