import secrets
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from apps.accounts import services
from apps.accounts.constants import ROLES


class Command(BaseCommand):
    help = (
        "Create a user with a role, or give an existing user that role (and the password, "
        "if a file is given). Without --password-file a new user gets a generated password, "
        "printed once."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--username", required=True)
        parser.add_argument("--role", required=True, choices=ROLES)
        parser.add_argument(
            "--password-file", type=Path, help="File whose first line is the password."
        )
        parser.add_argument("--email", default="")

    def handle(
        self, *args, username: str, role: str, password_file: Path | None, email: str, **options
    ) -> None:
        password = _read_password(password_file) if password_file else None
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            generated = password is None
            password = password or secrets.token_urlsafe(16)
            services.user_create(username=username, role=role, password=password, email=email)
            self.stdout.write(f"created {role} {username}")
            if generated:
                self.stdout.write(f"password: {password}")
            return
        services.user_set_role(user=user, role=role)
        if password:
            services.user_set_password(user=user, password=password)
        self.stdout.write(f"updated {username}: role {role}")


def _read_password(path: Path) -> str:
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise CommandError(f"cannot read {path}: {exc}") from exc
    if not lines or not lines[0]:
        raise CommandError(f"{path} has no password on its first line")
    return lines[0]
