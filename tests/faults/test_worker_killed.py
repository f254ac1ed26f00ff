"""A Celery worker is killed with SIGKILL in the middle of an import; a new worker starts.
The job must complete with exact counts: no row lost, none counted twice.

Real Redis broker, real PostgreSQL, worker subprocesses (`celery -A config worker -P solo`).
acks_late: the message of the task that was running stays unacknowledged in Redis and is
redelivered once the visibility timeout (5 s here) has passed.

The proof is in PostgreSQL — `ImportJob.processed/failed`, and one `ImportChunk` row per chunk
(unique per job and chunk number) whose counts add up — and in the document server every process
shares: exactly one `ticket_logs` document per row of the file (keyed writes, `_id = ticket_id`,
make a redelivered chunk rewrite the same documents)."""

import json
import os
import time
from datetime import timedelta

import pytest
import redis
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Sum
from openpyxl import Workbook

from ingestion import services
from ingestion.models import DeadLetter, ImportChunk, ImportJob
from techsupport.ticket_logs import COLLECTION
from tests.faults.conftest import database_url
from tests.faults.harness import kill9, service_env, start_worker, stop, wait_for
from tests.ingestion.workbooks import HEADER, XLSX_TYPE, ticket_row

pytestmark = [pytest.mark.faults, pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

ROWS = int(os.environ.get("FAULTS_IMPORT_ROWS", "12000"))
CHUNK = int(os.environ.get("FAULTS_IMPORT_CHUNK", "1500"))
KILL_AFTER_CHUNKS = int(os.environ.get("FAULTS_KILL_AFTER_CHUNKS", "2"))
VISIBILITY_TIMEOUT_S = 5


def _workbook(path, rows: int) -> None:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("tickets")
    sheet.append(HEADER)
    for n in range(rows):
        sheet.append(ticket_row(n))
    workbook.save(path)


def _purge_broker() -> None:
    """Only this run's Redis database: leftovers of an earlier run would be redelivered too."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.delete("ingestion", "unacked", "unacked_index", "unacked_mutex")
    client.close()


def _record(**facts) -> None:
    """benchmarks/faults.py collects one line per run."""
    if path := os.environ.get("FAULTS_RECORD"):
        with open(path, "a") as out:
            out.write(json.dumps(facts) + "\n")


def test_a_worker_killed_mid_import_loses_and_duplicates_nothing(tmp_path, settings, mongo_db):
    from config.celery import app

    settings.MEDIA_ROOT = tmp_path / "media"
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    _purge_broker()
    env = service_env(
        database_url=database_url(),
        redis_url=settings.REDIS_URL,
        CELERY_VISIBILITY_TIMEOUT_S=str(VISIBILITY_TIMEOUT_S),
        CELERY_UNACKED_RESTORE_THROTTLE="1",  # scan for overdue messages every 10 s, not 100 s
        MEDIA_ROOT=str(settings.MEDIA_ROOT),
    )
    log = tmp_path / "worker.log"
    source = tmp_path / "big.xlsx"
    _workbook(source, ROWS)
    first = start_worker(env, log=log)
    second = None
    try:
        upload = SimpleUploadedFile("big.xlsx", source.read_bytes(), content_type=XLSX_TYPE)
        job = services.import_job_create(file=upload, filename="big.xlsx", chunk_size=CHUNK)
        # import_job_create enqueues on commit; there is no transaction here, so it is enqueued now.
        wait_for(
            lambda: ImportChunk.objects.filter(job=job).count() >= KILL_AFTER_CHUNKS,
            timeout=120,
            what=f"{KILL_AFTER_CHUNKS} chunks to be counted",
        )
        counted_at_kill = ImportChunk.objects.filter(job=job).count()
        killed_at = time.monotonic()
        kill9(first)
        job.refresh_from_db()
        assert job.status == "processing", "the kill came too late to test anything"

        second = start_worker(env, log=log)
        resumed = []

        def finished() -> bool:
            # Beat runs the re-drive every 5 minutes; here it runs on every poll with a 20 s stall
            # threshold. It only acts when the killed worker's message was lost in kombu's window
            # between taking it off the queue and recording it as unacknowledged (seen once in
            # ~20 drills); otherwise the broker's own redelivery finishes the job first.
            resumed.append(services.import_jobs_redrive(stalled_after=timedelta(seconds=20)))
            return ImportJob.objects.filter(pk=job.pk, status__in=["completed", "completed_with_errors"]).exists()

        wait_for(finished, timeout=120, interval=0.25, what="the job to complete after the restart")
        recovery_s = time.monotonic() - killed_at
    finally:
        for worker in (first, second):
            if worker is not None:
                stop(worker)
        app.conf.task_always_eager = eager

    job.refresh_from_db()
    chunks = ImportChunk.objects.filter(job=job)
    sums = chunks.aggregate(rows=Sum("row_count"), processed=Sum("processed"), failed=Sum("failed"))
    expected_chunks = -(-ROWS // CHUNK)
    _record(
        rows=ROWS,
        chunks=expected_chunks,
        counted_at_kill=counted_at_kill,
        recovery_s=round(recovery_s, 1),
        status=job.status,
        processed=job.processed,
        failed=job.failed,
        resumed_by_redrive=sum(resumed),
    )
    assert (job.status, job.total, job.processed, job.failed) == ("completed", ROWS, ROWS, 0)
    assert job.chunk_count == expected_chunks
    assert chunks.count() == expected_chunks
    assert sorted(chunks.values_list("chunk_no", flat=True)) == list(range(expected_chunks))
    assert sums == {"rows": ROWS, "processed": ROWS, "failed": 0}
    assert DeadLetter.objects.filter(job=job).count() == 0
    assert mongo_db[COLLECTION].count_documents({"importJobId": str(job.pk)}) == ROWS
