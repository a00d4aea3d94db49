from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "apps.accounts"
    label = "accounts"
    verbose_name = "Accounts and API keys"

    def ready(self) -> None:
        from apps.accounts import schema, signals  # noqa: F401  (OpenAPI auth, sign-in audit)

        post_migrate.connect(_sync_roles, dispatch_uid="aivmon.accounts.roles_sync")


def _sync_roles(sender, using="default", **_kwargs) -> None:
    # After every app's migrations (and after a test flush), so that permissions of apps
    # migrated later are granted too.
    from apps.accounts.services import roles_sync

    roles_sync()
