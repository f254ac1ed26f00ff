from django.core.management.base import BaseCommand

from reports.indexes import ticket_log_indexes_ensure
from techsupport import mongo


class Command(BaseCommand):
    help = "Creates the ticket_logs indexes the reports need (idempotent: safe on every deploy)."

    def handle(self, *args, **options):
        if mongo.is_embedded():
            self.stderr.write(
                "Note: MONGO_URL is not set, so this process uses its own empty in-process document store; "
                "the embedded server creates its indexes itself when it starts (manage.py serve)."
            )
        names = ticket_log_indexes_ensure()
        self.stdout.write(f"ticket_logs indexes in place: {', '.join(names)}")
