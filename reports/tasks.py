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


@shared_task(acks_late=True)
def ticket_log_redrive_task() -> int:
    return services.ticket_log_projection_redrive()
