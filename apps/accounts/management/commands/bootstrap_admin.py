import os
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from apps.accounts import selectors, services
from apps.accounts.constants import Role


class Command(BaseCommand):
    help = (
        "Create the first admin account (username admin) when no admin exists; the password "
        "comes from AIVMON_ADMIN_PASSWORD or is generated and printed once."
    )

    def handle(self, *args, **options) -> None:
        if selectors.admin_exists():
            return
        if get_user_model().objects.filter(username="admin").exists():
            raise CommandError(
                "no active admin, but a user named admin exists: give it the "
                "admin role with create_user --username admin --role admin"
            )
        password = os.environ.get("AIVMON_ADMIN_PASSWORD") or secrets.token_urlsafe(16)
        services.user_create(username="admin", role=Role.ADMIN, password=password)
        self.stdout.write("created the first admin account: username admin")
        if not os.environ.get("AIVMON_ADMIN_PASSWORD"):
            self.stdout.write(f"password (shown once): {password}")
