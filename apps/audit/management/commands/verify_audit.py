from django.core.management.base import BaseCommand, CommandError

from apps.audit.selectors import audit_chain_verify


class Command(BaseCommand):
    help = "Check the audit log's hash chain; exit non-zero when it is broken."

    def handle(self, *args, **options) -> None:
        report = audit_chain_verify()
        if not report.intact:
            raise CommandError(
                f"audit chain BROKEN at event #{report.first_broken_id} after "
                f"{report.checked} good events: {report.reason}"
            )
        self.stdout.write(f"audit chain intact: {report.checked} events")
