from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.services import admin_ensure
from techsupport.exceptions import AppError


class Command(BaseCommand):
    help = "Creates the first admin from DEFAULT_ADMIN_EMAIL / DEFAULT_ADMIN_PASSWORD (idempotent)."

    def handle(self, *args, **options):
        try:
            user, created = admin_ensure(email=settings.DEFAULT_ADMIN_EMAIL, password=settings.DEFAULT_ADMIN_PASSWORD)
        except AppError as exc:
            raise CommandError(exc.message) from exc
        if created:
            self.stdout.write(self.style.SUCCESS(f"Created admin {user.email}."))
        else:
            self.stdout.write(f"Admin {user.email} already exists; nothing to do.")
