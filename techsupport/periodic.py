"""Periodic tasks from settings.PERIODIC_TASKS: installed into celery-beat, or run on a timer
thread inside the embedded server (`manage.py serve`)."""

import logging
import threading

from celery import current_app
from django.conf import settings
from django.db import close_old_connections

logger = logging.getLogger(__name__)


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


class EmbeddedScheduler(threading.Thread):
    """Runs each periodic task in-process every `every` seconds (embedded mode only)."""

    def __init__(self, tick_seconds: float = 1.0):
        super().__init__(name="embedded-scheduler", daemon=True)
        self.tick_seconds = tick_seconds
        self.stopped = threading.Event()
        self.next_run = dict.fromkeys(settings.PERIODIC_TASKS, 0.0)

    def run(self):
        import time

        # Celery discovers `<app>/tasks.py` lazily; a worker does this at start, we do it here.
        current_app.loader.import_default_modules()
        while not self.stopped.wait(self.tick_seconds):
            now = time.monotonic()
            for name, spec in settings.PERIODIC_TASKS.items():
                if now >= self.next_run[name]:
                    self.next_run[name] = now + spec["every"]
                    self.run_once(name, spec)

    def run_once(self, name: str, spec: dict) -> None:
        try:
            current_app.tasks[spec["task"]].apply()
        except Exception:
            logger.exception("periodic task failed", extra={"periodic_task": name})
        finally:
            close_old_connections()
