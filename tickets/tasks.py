"""SLA tasks (queue `sla`) and notification deliveries (queue `notifications`), routed in settings.
Declared with the project's task kit (techsupport/tasks.py).

`sla_sweep_task` and `notification_redrive_task` are periodic (settings.PERIODIC_TASKS:
celery-beat: its own container in production, inside `make run`'s worker locally).
"""

import logging

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from techsupport.tasks import publish, retry_rows, task_options
from tickets import notifications
from tickets.sweep import sla_sweep

DELIVERY_MAX_RETRIES = 3
DELIVERY_BACKOFF_S = 15  # 15, 30, 60 s (+ jitter): done well within notifications.REDRIVE_AFTER

logger = logging.getLogger(__name__)


@shared_task(**task_options(limit_s=300))
def sla_sweep_task() -> dict:
    """One sweep as of now. Redelivery after a worker crash is harmless: sweeps are idempotent; a
    sweep stopped by its time limit leaves the rest due for the next one."""
    return sla_sweep(now=timezone.now(), workers=settings.SLA_SWEEP_WORKERS).as_dict()


@shared_task(bind=True, max_retries=DELIVERY_MAX_RETRIES, **task_options(limit_s=300))
def notification_deliver_task(self, notification_ids: list[str]) -> int:
    """Delivers the rows' pending channels; retries those that failed with exponential backoff
    and jitter, and on the last try records them as failed. Returns how many remain pending.

    Out of time (slow SMTP or webhook): the rows not tried yet go on in a fresh task; the row
    that was interrupted, and those that failed before, are left to the re-drive."""
    final = self.request.retries >= self.max_retries
    try:
        pending = notifications.notification_deliver(notification_ids=notification_ids, final=final)
    except notifications.DeliveryInterrupted as stop:
        logger.warning("notification delivery out of time", extra={"notifications_left": len(stop.remaining)})
        publish(notification_deliver_task, stop.remaining)
        return len(stop.remaining)
    return retry_rows(self, pending, base_s=DELIVERY_BACKOFF_S)


@shared_task(**task_options(limit_s=60))
def notification_redrive_task() -> int:
    return notifications.notification_redrive()
