from datetime import timedelta

import pytest
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerOperationalError

from ingestion import services
from ingestion.models import ImportJob
from ingestion.tasks import import_job_redrive_task
from techsupport.ticket_logs import COLLECTION
from tests.ingestion.workbooks import clean_rows, workbook_bytes

pytestmark = pytest.mark.django_db


def test_upload_accepted_while_the_broker_is_down_is_redriven_later(admin_client, post_workbook, monkeypatch, mongo_db):
    def broker_down(*args, **kwargs):
        raise BrokerOperationalError("Error 111 connecting to redis. Connection refused.")

    # Given the broker refuses the enqueue right after the upload commits
    monkeypatch.setattr("ingestion.tasks.import_split_task.delay", broker_down)
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


def test_redrive_leaves_recent_and_started_jobs_alone(admin_client, post_workbook):
    done = post_workbook(admin_client, workbook_bytes(clean_rows(1))).json()["processId"]
    ImportJob.objects.filter(pk=done).update(created_at=timezone.now() - timedelta(hours=1))
    fresh = ImportJob.objects.create(filename="x.xlsx", stored_name="imports/x.xlsx", sha256="0" * 64)

    assert services.import_jobs_redrive() == 0
    fresh.refresh_from_db()
    assert fresh.status == "pending"
