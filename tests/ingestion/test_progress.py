"""`progress` never goes backwards. The split raises `total` chunk by chunk while workers count
rows, so measured against the running total progress would jump to 100 % after each counted
chunk and fall back when the next one is enqueued. While the split runs it is measured against
the sheet's height (`rows_bound`, stored before the first chunk), then against the exact total."""

from unittest import mock

import pytest

from ingestion import selectors, services
from ingestion.models import ImportJob
from ingestion.status import ImportJobStatusOutput
from ingestion.tasks import import_chunk_task
from tests.ingestion.workbooks import clean_rows, ticket_row, upload, workbook_bytes

pytestmark = pytest.mark.django_db


def status(job_id) -> tuple[float, bool, int]:
    body = ImportJobStatusOutput(selectors.import_job_get(job_id)).data
    return body["progress"], body["totalFinal"], body["total"]


def test_progress_readings_during_a_split_never_decrease(mongo_db):
    rows = [*clean_rows(4), [None] * 8, ticket_row(50, estado="NOPE"), ticket_row(60)]
    job = services.import_job_create(file=upload(workbook_bytes(rows)), filename="t.xlsx", chunk_size=2)
    readings = [status(job.pk)]

    def deliver(*args):
        readings.append(status(job.pk))  # the chunk is enqueued, not yet counted
        import_chunk_task.apply(args=args)
        readings.append(status(job.pk))  # a worker counted it

    with mock.patch.object(import_chunk_task, "apply_async", side_effect=lambda args, **options: deliver(*args)):
        services.import_job_split(job_id=job.pk)
    readings.append(status(job.pk))

    progress = [reading[0] for reading in readings]
    assert progress == sorted(progress)
    assert progress == [0.0, 0.0, 28.57, 28.57, 57.14, 57.14, 71.43, 71.43, 85.71, 100.0]
    assert [final for _, final, _ in readings] == [False] * 9 + [True]
    job.refresh_from_db()
    assert (job.status, job.rows_bound, job.total, job.processed + job.failed) == ("completed_with_errors", 7, 6, 6)


def test_a_job_without_a_bound_yet_measures_against_its_total():
    job = ImportJob(total=10, processed=5, status="processing")

    assert (job.progress, job.total_final) == (50.0, False)
    job.rows_bound, job.chunk_count = 20, None
    assert job.progress == 25.0
    job.chunk_count = 2
    assert (job.progress, job.total_final) == (50.0, True)
