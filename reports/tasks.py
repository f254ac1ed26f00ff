"""Projection tasks (queue `projections`, routed in settings). Thin: a row id in, a service call.

MongoDB errors retry with exponential backoff and jitter; when the retries are exhausted the row
is marked failed and the periodic re-drive (settings.PERIODIC_TASKS) tries it again later.
"""

from celery import Task, shared_task
from pymongo.errors import PyMongoError

from reports import services

MAX_RETRIES = 4


class ProjectTask(Task):
    def on_failure(self, exc, task_id, args, kwargs, einfo):
        projection_id = kwargs.get("projection_id") or (args[0] if args else None)
        if projection_id is not None:
            services.ticket_log_projection_fail(projection_id=projection_id)


@shared_task(
    base=ProjectTask,
    autoretry_for=(PyMongoError,),
    retry_backoff=2,
    retry_backoff_max=120,
    retry_jitter=True,
    max_retries=MAX_RETRIES,
    acks_late=True,
    reject_on_worker_lost=True,
)
def ticket_log_project_task(projection_id: int) -> bool:
    return services.ticket_log_projection_deliver(projection_id=projection_id)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def ticket_log_project_many_task(projection_ids: list[int]) -> int:
    """One message for many rows (an SLA sweep's batch). Stops at the first MongoDB error: that
    row has its error recorded, it and the rest stay undelivered, and the re-drive retries them
    with the single-row task's backoff. Returns how many it delivered."""
    delivered = 0
    for projection_id in projection_ids:
        try:
            delivered += services.ticket_log_projection_deliver(projection_id=projection_id)
        except PyMongoError:
            break
    return delivered


@shared_task(acks_late=True)
def ticket_log_redrive_task() -> int:
    return services.ticket_log_projection_redrive()
