from datetime import datetime
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from apps.backups.selectors import backup_at
from apps.backups.services import BackupError, backup_restore


class Command(BaseCommand):
    help = (
        "Replace the database's content by a backup (checked first; the current database is "
        "set aside as replaced-<stamp>.sqlite3). Give a file, or --at an instant to restore "
        "the newest backup taken at or before it."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", nargs="?", help="A backup file.")
        parser.add_argument("--at", help="ISO 8601 instant, e.g. 2026-11-28T03:00:00Z.")

    def handle(self, *args, **options) -> None:
        path = self._chosen(options.get("file"), options.get("at"))
        try:
            result = backup_restore(path)
        except BackupError as exc:
            raise CommandError(f"refused: {exc}") from exc
        self.stdout.write(
            f"restored from {result.restored_from}; the replaced database is kept at "
            f"{result.set_aside}"
        )

    def _chosen(self, file: str | None, at: str | None) -> Path:
        if bool(file) == bool(at):
            raise CommandError("give either a backup file or --at <instant>")
        if file:
            return Path(file)
        try:
            moment = datetime.fromisoformat(at.replace("Z", "+00:00"))  # type: ignore[union-attr]
        except ValueError as exc:
            raise CommandError(f"--at: not an ISO 8601 instant: {at}") from exc
        if moment.tzinfo is None:
            raise CommandError("--at: give a timezone, e.g. a trailing Z for UTC")
        backup = backup_at(moment)
        if backup is None:
            raise CommandError(f"no backup was taken at or before {moment.isoformat()}")
        return backup.path
