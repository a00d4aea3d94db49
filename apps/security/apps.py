from django.apps import AppConfig
from django.db.models.signals import post_migrate


class SecurityConfig(AppConfig):
    name = "apps.security"
    label = "security"

    def ready(self) -> None:
        from apps.security import signals  # noqa: F401  (aivmon watching itself)

        post_migrate.connect(
            _ensure_thresholds, sender=self, dispatch_uid="aivmon.security.thresholds"
        )


def _ensure_thresholds(sender, **_kwargs) -> None:
    # After migrate and after a test flush: the one row of thresholds always exists.
    from apps.security.models import SeverityThresholds
    from apps.security.scoring import thresholds_forget

    if not SeverityThresholds.objects.exists():
        SeverityThresholds.objects.create()
    thresholds_forget()
