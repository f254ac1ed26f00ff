import os

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from reports.services import ticket_logs_embedded_start
from techsupport import mongo
from techsupport.periodic import EmbeddedScheduler


class Command(BaseCommand):
    help = (
        "Serves API and admin in one process (the entry point of `make run`). In embedded mode "
        "(no REDIS_URL) it also runs the periodic tasks, such as the SLA sweep, on a timer thread."
    )

    def add_arguments(self, parser):
        parser.add_argument("--port", default=os.environ.get("PORT", "8000"))
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))

    def handle(self, *args, host, port, **options):
        if settings.CELERY_TASK_ALWAYS_EAGER:
            EmbeddedScheduler().start()
            self.stdout.write("Embedded mode: tasks run in-process; periodic tasks on a timer thread.")
        if mongo.is_embedded():
            self.stdout.write("Embedded document store: ticket logs live in this process's memory.")
            ticket_logs_embedded_start()  # the in-process store starts empty: index and fill it here
        call_command("runserver", f"{host}:{port}", use_reloader=False)
