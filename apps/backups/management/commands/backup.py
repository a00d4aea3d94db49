from django.core.management.base import BaseCommand, CommandError

from apps.backups.selectors import backup_list, policy_get
from apps.backups.services import BackupError, backup_create, backups_rotate


class Command(BaseCommand):
    help = "Take an online backup of the SQLite database now (checked), then rotate; or --list."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--list", action="store_true", help="List the kept backups.")
        parser.add_argument("--no-rotate", action="store_true", help="Keep every backup.")

    def handle(self, *args, **options) -> None:
        if options["list"]:
            for backup in backup_list():
                self.stdout.write(
                    f"{backup.taken_at.isoformat()}  {backup.size:>12}  {backup.path}"
                )
            return
        try:
            backup = backup_create()
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        deleted = [] if options["no_rotate"] else backups_rotate(policy=policy_get())
        self.stdout.write(f"backup written and checked: {backup.path} ({backup.size} bytes)")
        if deleted:
            self.stdout.write(f"rotated out: {len(deleted)} old backup(s)")
