"""A real Celery worker (thread) on the real Redis broker processes a real upload end to end."""

import time

import pytest
from celery.contrib.testing.worker import start_worker

from config.celery import app
from ingestion.models import ImportJob
from techsupport.ticket_logs import COLLECTION
from tests.ingestion.workbooks import clean_rows, ticket_row, upload, workbook_bytes


@pytest.fixture
def broker_worker(settings):
    settings.INGESTION_CHUNK_SIZE = 3
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    settings.CELERY_TASK_ALWAYS_EAGER = False
    try:
        with start_worker(app, pool="solo", queues=["ingestion"], perform_ping_check=False, shutdown_timeout=10):
            yield
    finally:
        app.conf.task_always_eager = eager


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_an_upload_is_processed_by_a_worker_through_redis(broker_worker, admin_client, mongo_db):
    rows = [*clean_rows(7), ticket_row(99, estado="NOPE")]

    response = admin_client.post("/api/files/upload", {"file": upload(workbook_bytes(rows))}, format="multipart")

    assert response.status_code == 202
    assert response.json()["status"] == "pending"
    job = ImportJob.objects.get(pk=response.json()["processId"])
    deadline = time.monotonic() + 30
    while job.status not in ("completed", "completed_with_errors", "failed") and time.monotonic() < deadline:
        time.sleep(0.1)
        job.refresh_from_db()
    assert (job.status, job.total, job.processed, job.failed, job.chunk_count) == ("completed_with_errors", 8, 7, 1, 3)
    assert mongo_db[COLLECTION].count_documents({}) == 7
