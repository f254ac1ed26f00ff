from django.core.management.base import BaseCommand

from techsupport.periodic import periodic_tasks_install


class Command(BaseCommand):
    help = "Installs the periodic tasks (settings.PERIODIC_TASKS) into celery-beat's database scheduler."

    def handle(self, *args, **options):
        names = periodic_tasks_install()
        self.stdout.write(f"Periodic tasks installed: {', '.join(names) or 'none'}.")
