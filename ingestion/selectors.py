"""Reads of import jobs, row errors, dead letters and queue depth."""

import structlog
from django.conf import settings
from django.db.models import Prefetch, QuerySet

from ingestion.models import DeadLetter, ImportJob, ImportRowError

logger = structlog.get_logger(__name__)

STATUS_ERRORS_LIMIT = 20
INSPECT_TIMEOUT_S = 1.0


def _with_first_errors(jobs: QuerySet) -> QuerySet:
    """Each job gets `first_errors` (its first row errors by row) in one extra query."""
    first = ImportRowError.objects.order_by("row_no", "id")[:STATUS_ERRORS_LIMIT]
    return jobs.prefetch_related(Prefetch("row_errors", queryset=first, to_attr="first_errors"))


def import_job_get(job_id) -> ImportJob | None:
    """The job with `first_errors` attached, or None."""
    return _with_first_errors(ImportJob.objects.filter(pk=job_id)).first()


def import_job_list() -> QuerySet:
    """All jobs, newest first, each with `first_errors`."""
    return _with_first_errors(ImportJob.objects.order_by("-created_at", "-id"))


def import_job_list_latest(limit: int = 10) -> list[ImportJob]:
    """The `limit` latest jobs, newest first, each with `first_errors`."""
    return list(import_job_list()[:limit])


def import_job_status_latest(limit: int = 10) -> list[dict]:
    """The `limit` latest jobs in the shape of their status (ingestion/status.py), newest first:
    the `last-processes` report."""
    from ingestion.status import ImportJobStatusOutput

    return list(ImportJobStatusOutput(import_job_list_latest(limit), many=True).data)


def import_row_errors(job: ImportJob) -> QuerySet:
    """Every row error of a job, by row."""
    return ImportRowError.objects.filter(job=job).order_by("row_no", "id")


def dead_letter_list() -> QuerySet:
    return DeadLetter.objects.order_by("-created_at", "-id")


def dead_letter_count() -> int:
    return DeadLetter.objects.count()


def dead_letter_get(dead_letter_id) -> DeadLetter | None:
    return DeadLetter.objects.select_related("job").filter(pk=dead_letter_id).first()


def queue_stats() -> dict:
    """{"queues": {name: {"waiting", "active"}}, "dead_letter": N} (the API renders it camelCase).

    `waiting` counts the messages in the broker not yet taken by a worker (the Redis list, or the
    local file broker's folder). `active` is what workers report as executing, per queue, via
    `celery inspect` with a short timeout — a worker that does not answer in time is not counted.
    Local mode's file broker is not inspected: its broadcast replies are files that nobody
    removes once the asker has gone, one per call, so `active` is 0 there. With eager tasks
    (tests) nothing ever waits: both are 0. Raises redis/kombu connection errors when the broker
    is down (the API answers 503)."""
    names = [queue.name for queue in settings.CELERY_TASK_QUEUES]
    queues = {name: {"waiting": 0, "active": 0} for name in names}
    if not settings.CELERY_TASK_ALWAYS_EAGER:
        from celery import current_app as app

        with app.connection_for_read() as connection:
            channel = connection.default_channel
            for name in names:
                queues[name]["waiting"] = int(channel.queue_declare(queue=name).message_count)
        local_broker = settings.CELERY_BROKER_URL.startswith("filesystem:")
        replies = {} if local_broker else app.control.inspect(timeout=INSPECT_TIMEOUT_S).active() or {}
        for tasks in replies.values():
            for task in tasks or []:
                queue = (task.get("delivery_info") or {}).get("routing_key")
                if queue in queues:
                    queues[queue]["active"] += 1
    return {"queues": queues, "dead_letter": dead_letter_count()}
