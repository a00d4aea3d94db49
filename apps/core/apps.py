from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CoreConfig(AppConfig):
    name = "apps.core"
    label = "core"

    def ready(self) -> None:
        from apps.core import signals  # noqa: F401  (Celery task counters)

        post_migrate.connect(_ensure_defaults, sender=self, dispatch_uid="aivmon.core.defaults")


def _ensure_defaults(sender, **_kwargs) -> None:
    # After migrate and after a test flush: the retention policies always exist.
    from apps.core.services import retention_ensure_defaults

    retention_ensure_defaults()
