"""Ingestion tasks (queue `ingestion`, routed in settings). Thin: ids and rows in, a service call.

Transient faults retry with exponential backoff and jitter (3 retries); a chunk that still
fails — or fails with a non-transient error — is written to the dead-letter queue by
`on_failure`. acks_late + reject_on_worker_lost: a worker killed mid-task gets its message
redelivered, and the services make a second delivery harmless.
"""

import socket

from celery import Task, shared_task
from django.db import InterfaceError, OperationalError
from kombu.exceptions import OperationalError as BrokerOperationalError
from pymongo.errors import AutoReconnect, ConnectionFailure, NetworkTimeout, ServerSelectionTimeoutError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from ingestion import services

TRANSIENT_ERRORS = (
    AutoReconnect,
    ConnectionFailure,
    NetworkTimeout,
    ServerSelectionTimeoutError,
    RedisConnectionError,
    RedisTimeoutError,
    BrokerOperationalError,
    OperationalError,
    InterfaceError,
    TimeoutError,
    socket.timeout,
)
MAX_RETRIES = 3

_RETRY_POLICY = {
    "autoretry_for": TRANSIENT_ERRORS,
    "retry_backoff": True,
    "retry_backoff_max": 60,
    "retry_jitter": True,
    "max_retries": MAX_RETRIES,
    "acks_late": True,
    "reject_on_worker_lost": True,
}


class SplitTask(Task):
    def on_failure(self, exc, task_id, args, kwargs, einfo):
        job_id = kwargs.get("job_id") or (args[0] if args else None)
        if job_id:
            services.import_job_fail(job_id=job_id, message=f"The file could not be split: {exc!r}")


class ChunkTask(Task):
    def on_failure(self, exc, task_id, args, kwargs, einfo):
        names = ("job_id", "chunk_no", "first_row_no", "rows", "duplicates", "replay_of")
        call = {**dict(zip(names, args, strict=False)), **kwargs}
        services.import_chunk_dead_letter(
            task_name=self.name,
            job_id=call["job_id"],
            chunk_no=call["chunk_no"],
            first_row_no=call["first_row_no"],
            rows=call["rows"],
            duplicates=call.get("duplicates"),
            replay_of=call.get("replay_of"),
            error=f"{type(exc).__name__}: {exc}\n{einfo.traceback if einfo else ''}",
            attempts=self.request.retries + 1,
        )


@shared_task(base=SplitTask, **_RETRY_POLICY)
def import_split_task(job_id: str, resume: bool = False) -> None:
    services.import_job_split(job_id=job_id, resume=resume)


@shared_task(base=ChunkTask, **_RETRY_POLICY)
def import_chunk_task(
    job_id: str,
    chunk_no: int,
    first_row_no: int,
    rows: list,
    duplicates: dict | None = None,
    replay_of: str | None = None,
) -> bool:
    return services.import_chunk_process(
        job_id=job_id,
        chunk_no=chunk_no,
        first_row_no=first_row_no,
        rows=rows,
        duplicates=duplicates,
        replay_of=replay_of,
    )


@shared_task
def import_job_redrive_task() -> int:
    return services.import_jobs_redrive()
