from datetime import timedelta

import pytest
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerOperationalError

from ingestion import services
from ingestion.models import ImportChunk, ImportJob
from ingestion.tasks import import_chunk_task, import_job_redrive_task
from techsupport.ticket_logs import COLLECTION
from tests.ingestion.workbooks import clean_rows, workbook_bytes

pytestmark = pytest.mark.django_db


def test_upload_accepted_while_the_broker_is_down_is_redriven_later(admin_client, post_workbook, monkeypatch, mongo_db):
    def broker_down(*args, **kwargs):
        raise BrokerOperationalError("Error 111 connecting to redis. Connection refused.")

    # Given the broker refuses the enqueue right after the upload commits
    monkeypatch.setattr("ingestion.tasks.import_split_task.apply_async", broker_down)
    response = post_workbook(admin_client, workbook_bytes(clean_rows(3)))

    # then the upload is still accepted and the job waits, nothing lost
    assert response.status_code == 202
    job = ImportJob.objects.get(pk=response.json()["processId"])
    assert job.status == "pending"

    # When the broker is back and the re-drive runs after the grace period
    monkeypatch.undo()
    ImportJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(minutes=11))
    assert import_job_redrive_task.apply().get() == 1

    # then the job is processed exactly as if nothing had happened
    job.refresh_from_db()
    assert (job.status, job.total, job.processed, job.failed) == ("completed", 3, 3, 0)
    assert mongo_db[COLLECTION].count_documents({}) == 3


def test_a_lost_chunk_message_is_resumed_from_the_stored_file(
    admin_client, post_workbook, monkeypatch, settings, mongo_db
):
    settings.INGESTION_CHUNK_SIZE = 2
    deliver = import_chunk_task.apply_async

    def lose_chunk_one(args, **options):
        if args[1] != 1:  # the message of chunk 1 vanishes in the broker
            deliver(args, **options)

    # Given an import of 5 rows (chunks 0, 1, 2) whose chunk 1 message is lost
    monkeypatch.setattr("ingestion.tasks.import_chunk_task.apply_async", lose_chunk_one)
    job_id = post_workbook(admin_client, workbook_bytes(clean_rows(5))).json()["processId"]
    monkeypatch.undo()
    job = ImportJob.objects.get(pk=job_id)
    assert (job.status, job.total, job.processed, job.chunk_count) == ("processing", 5, 3, 3)

    # When no chunk has been counted for longer than the stall threshold and the re-drive runs
    later = timezone.now() + timedelta(minutes=16)
    assert services.import_jobs_redrive(now=later) == 1

    # then only the missing chunk is processed, and every row is counted exactly once
    job.refresh_from_db()
    assert (job.status, job.total, job.processed, job.failed) == ("completed", 5, 5, 0)
    assert sorted(ImportChunk.objects.filter(job=job).values_list("chunk_no", "row_count")) == [(0, 2), (1, 2), (2, 1)]
    assert mongo_db[COLLECTION].count_documents({}) == 5


def test_a_resumed_split_never_lowers_total_so_the_job_cannot_finish_early(
    admin_client, post_workbook, monkeypatch, settings, mongo_db
):
    settings.INGESTION_CHUNK_SIZE = 2
    deliver = import_chunk_task.apply_async

    def lose_the_tail(args, **options):
        if args[1] < 2:  # the messages of chunks 2 and 3 vanish in the broker
            deliver(args, **options)

    # Given an import of 7 rows (chunks 0..3) whose last two chunk messages are lost
    monkeypatch.setattr("ingestion.tasks.import_chunk_task.apply_async", lose_the_tail)
    job_id = post_workbook(admin_client, workbook_bytes(clean_rows(7))).json()["processId"]
    seen = []

    def watch(args, **options):
        seen.append((args[1], *ImportJob.objects.values_list("status", "total").get(pk=args[0])))
        deliver(args, **options)

    # When the resumed split re-sends them
    monkeypatch.setattr("ingestion.tasks.import_chunk_task.apply_async", watch)
    services.import_job_split(job_id=job_id, resume=True)

    # then the job stays processing with its full total until the last chunk counts
    assert seen == [(2, "processing", 7), (3, "processing", 7)]
    job = ImportJob.objects.get(pk=job_id)
    assert (job.status, job.total, job.processed, job.failed) == ("completed", 7, 7, 0)


def test_a_resume_after_nothing_was_lost_changes_nothing(admin_client, post_workbook, settings):
    settings.INGESTION_CHUNK_SIZE = 2
    job_id = post_workbook(admin_client, workbook_bytes(clean_rows(5))).json()["processId"]

    services.import_job_split(job_id=job_id, resume=True)

    job = ImportJob.objects.get(pk=job_id)
    assert (job.status, job.total, job.processed, job.failed) == ("completed", 5, 5, 0)
    assert ImportChunk.objects.filter(job=job).count() == 3


def test_redrive_leaves_recent_finished_and_progressing_jobs_alone(admin_client, post_workbook):
    done = post_workbook(admin_client, workbook_bytes(clean_rows(1))).json()["processId"]
    ImportJob.objects.filter(pk=done).update(created_at=timezone.now() - timedelta(hours=1))
    fresh = ImportJob.objects.create(filename="x.xlsx", stored_name="imports/x.xlsx", sha256="0" * 64)
    busy = ImportJob.objects.create(
        filename="y.xlsx",
        stored_name="imports/y.xlsx",
        sha256="1" * 64,
        status="processing",
        started_at=timezone.now() - timedelta(hours=1),
    )
    ImportChunk.objects.create(job=busy, chunk_no=0, first_row_no=2, row_count=1, processed=1)  # counted just now

    assert services.import_jobs_redrive() == 0
    fresh.refresh_from_db()
    assert fresh.status == "pending"
