"""Periodic tasks from settings.PERIODIC_TASKS, installed into celery-beat's database scheduler
(`manage.py setup_periodic_tasks`: the compose `migrate` service and `make run` call it)."""

from django.conf import settings


def periodic_tasks_install() -> list[str]:
    """Creates or updates one celery-beat entry per PERIODIC_TASKS item (idempotent)."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    names = []
    for name, spec in settings.PERIODIC_TASKS.items():
        schedule, _ = IntervalSchedule.objects.get_or_create(every=spec["every"], period=IntervalSchedule.SECONDS)
        # A run not picked up within its own interval is dropped: the next one supersedes it, so
        # runs do not pile up in the broker while the workers are down.
        PeriodicTask.objects.update_or_create(
            name=name,
            defaults={"task": spec["task"], "interval": schedule, "enabled": True, "expire_seconds": spec["every"]},
        )
        names.append(name)
    return names
