from django.apps import AppConfig
from django.db.models.signals import post_migrate


class IngestConfig(AppConfig):
    name = "apps.ingest"
    label = "ingest"

    def ready(self) -> None:
        post_migrate.connect(_ensure_rules, sender=self, dispatch_uid="aivmon.ingest.rules")


def _ensure_rules(sender, **_kwargs) -> None:
    # After migrate and after a test flush: the built-in scrub rules are always there.
    from apps.ingest.scrub import scrub_rules_ensure_builtin

    scrub_rules_ensure_builtin()
