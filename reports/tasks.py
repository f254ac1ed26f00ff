"""Projection tasks (queue `projections`, routed in settings), declared with the project's task kit
(techsupport/tasks.py). Thin: row ids in, a service call.

Rows whose MongoDB write fails are retried with exponential backoff and jitter; when the retries
are exhausted they are marked failed and the periodic re-drive (settings.PERIODIC_TASKS) tries
them again later.
"""

from celery import shared_task

from reports import services
from techsupport.tasks import retry_rows, task_options

MAX_RETRIES = 4
BACKOFF_S = 2  # 2, 4, 8, 16 s (+ jitter)


@shared_task(bind=True, max_retries=MAX_RETRIES, **task_options(limit_s=120))
def ticket_log_project_task(self, projection_ids: list[int]) -> int:
    """Delivers the rows; returns how many were given up (0 when all were delivered)."""
    if isinstance(projection_ids, int):  # a message queued by the previous release (one id)
        projection_ids = [projection_ids]
    pending = services.ticket_log_projections_deliver(projection_ids=projection_ids)
    return retry_rows(
        self,
        pending,
        base_s=BACKOFF_S,
        give_up=lambda ids: services.ticket_log_projections_fail(projection_ids=ids),
    )


@shared_task(**task_options(limit_s=120))
def ticket_log_project_many_task(projection_ids: list[int]) -> int:
    """Messages queued by the previous release (the sweep's batches): delivered by the task above."""
    return ticket_log_project_task.apply(args=(projection_ids,)).get()


@shared_task(**task_options(limit_s=60))
def ticket_log_redrive_task() -> int:
    return services.ticket_log_projection_redrive()
