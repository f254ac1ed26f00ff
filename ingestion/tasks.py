"""Ingestion tasks (queue `ingestion`, routed in settings), declared with the project's task kit
(techsupport/tasks.py). Thin: ids and rows in, a service call.

Transient faults retry with exponential backoff and jitter (3 retries); a chunk that still
fails — or fails with a non-transient error — is written to the dead-letter queue by
`on_failure`. acks_late + reject_on_worker_lost: a worker killed mid-task gets its message
redelivered, and the services make a second delivery harmless. A message whose deliveries keep
killing the worker (INGESTION_MAX_WORKER_CRASHES, counted in PostgreSQL by `TaskDelivery`) is
not run again: its chunk is dead-lettered, its split fails the job (`worker_crashed`).
"""

from celery import Task, shared_task
from django.conf import settings

from ingestion import services
from techsupport.tasks import task_options

# Transient faults retry with backoff (techsupport.tasks.TRANSIENT_ERRORS); a split of the largest
# sheet takes about a minute, a chunk a second or two.
SPLIT_OPTIONS = task_options(limit_s=1800, retry_transient=True)
CHUNK_OPTIONS = task_options(limit_s=300, retry_transient=True)


class CrashCountedTask(Task):
    """Counts each delivery in PostgreSQL around the task body (see `TaskDelivery`): a delivery
    that finds INGESTION_MAX_WORKER_CRASHES earlier ones that never ended calls
    `crash_loop(deliveries, *args)` instead of running the body again."""

    def crash_loop(self, deliveries: int, *args) -> None:
        raise NotImplementedError

    def guarded(self, body, *args):
        """Runs `body()`, or `crash_loop(deliveries, *args)` for a message that keeps killing
        its worker. Inside the task's run, so a database fault while counting is retried."""
        task_id = self.request.id
        if task_id is None:  # called directly, not delivered
            return body()
        deliveries = services.task_delivery_begin(task_id=task_id, task_name=self.name)
        try:
            if deliveries > settings.INGESTION_MAX_WORKER_CRASHES:
                return self.crash_loop(deliveries, *args)
            return body()
        finally:
            services.task_delivery_end(task_id=task_id)


class SplitTask(CrashCountedTask):
    def crash_loop(self, deliveries, job_id, resume=False):
        services.import_job_fail(
            job_id=job_id,
            message=f"The file could not be split: {services.worker_crash_message(deliveries)}",
            code="worker_crashed",
        )

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        job_id = kwargs.get("job_id") or (args[0] if args else None)
        if job_id:
            services.import_job_fail(
                job_id=job_id, message=f"The file could not be split: {exc!r}", code="split_failed"
            )


_CHUNK_ARGS = ("job_id", "chunk_no", "first_row_no", "rows", "duplicates", "replay_of")


class ChunkTask(CrashCountedTask):
    def _dead_letter(self, call: dict, error: str, attempts: int) -> None:
        services.import_chunk_dead_letter(
            task_name=self.name,
            job_id=call["job_id"],
            chunk_no=call["chunk_no"],
            first_row_no=call["first_row_no"],
            rows=call["rows"],
            duplicates=call.get("duplicates"),
            replay_of=call.get("replay_of"),
            error=error,
            attempts=attempts,
        )

    def crash_loop(self, deliveries, *args):
        call = dict(zip(_CHUNK_ARGS, args, strict=True))
        self._dead_letter(call, f"WorkerCrashed: {services.worker_crash_message(deliveries)}", deliveries - 1)

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        call = {**dict(zip(_CHUNK_ARGS, args, strict=False)), **kwargs}
        error = f"{type(exc).__name__}: {exc}\n{einfo.traceback if einfo else ''}"
        self._dead_letter(call, error, self.request.retries + 1)


@shared_task(base=SplitTask, bind=True, **SPLIT_OPTIONS)
def import_split_task(self, job_id: str, resume: bool = False) -> None:
    self.guarded(lambda: services.import_job_split(job_id=job_id, resume=resume), job_id, resume)


@shared_task(base=ChunkTask, bind=True, **CHUNK_OPTIONS)
def import_chunk_task(
    self,
    job_id: str,
    chunk_no: int,
    first_row_no: int,
    rows: list | str,
    duplicates: dict | None = None,
    replay_of: str | None = None,
) -> bool:
    return self.guarded(
        lambda: services.import_chunk_process(
            job_id=job_id,
            chunk_no=chunk_no,
            first_row_no=first_row_no,
            rows=rows,
            duplicates=duplicates,
            replay_of=replay_of,
        ),
        *(job_id, chunk_no, first_row_no, rows, duplicates, replay_of),
    )


@shared_task(**task_options(limit_s=120))
def import_job_redrive_task() -> int:
    return services.import_jobs_redrive()
