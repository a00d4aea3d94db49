from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from apps.accounts import services


class Command(BaseCommand):
    help = "Create an API key and print it on stdout (and nothing else): it is not shown again."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--name", required=True)
        parser.add_argument(
            "--scopes", required=True, help="Comma-separated: ingest,read,write,admin"
        )
        parser.add_argument("--expires-days", type=int)
        parser.add_argument("--owner", help="Username of the key's owner (optional).")

    def handle(
        self, *args, name: str, scopes: str, expires_days: int | None, owner: str | None, **options
    ) -> None:
        if expires_days is not None and expires_days < 1:
            raise CommandError("--expires-days must be at least 1")
        owner_user = None
        if owner:
            owner_user = get_user_model().objects.filter(username=owner).first()
            if owner_user is None:
                raise CommandError(f"no user {owner!r}")
        expires_at = timezone.now() + timedelta(days=expires_days) if expires_days else None
        try:
            _, raw = services.api_key_create(
                name=name,
                scopes=[s.strip() for s in scopes.split(",") if s.strip()],
                owner=owner_user,
                expires_at=expires_at,
            )
        except services.AccountError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(raw)
