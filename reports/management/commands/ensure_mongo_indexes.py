from django.core.management.base import BaseCommand

from reports.indexes import ticket_log_indexes_ensure


class Command(BaseCommand):
    help = "Creates the ticket_logs indexes the reports need (idempotent: safe on every deploy)."

    def handle(self, *args, **options):
        names = ticket_log_indexes_ensure()
        self.stdout.write(f"ticket_logs indexes in place: {', '.join(names)}")
