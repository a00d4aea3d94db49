from django.apps import AppConfig
from django.db.models.signals import post_migrate


class HealthConfig(AppConfig):
    name = "apps.health"
    label = "health"

    def ready(self) -> None:
        post_migrate.connect(_ensure_defaults, sender=self, dispatch_uid="aivmon.health.defaults")


def _ensure_defaults(sender, **_kwargs) -> None:
    # After migrate and after a test flush: the thresholds row and aivmon's own code exist.
    from apps.health.services import defaults_ensure

    defaults_ensure()
