"""A message that keeps killing its worker is not run forever: deliveries are counted in
PostgreSQL (`TaskDelivery`), and past INGESTION_MAX_WORKER_CRASHES deliveries that never ended
the chunk goes to the dead-letter queue and the split fails its job (`worker_crashed`).
Here the earlier, crashed deliveries are simulated by starting them without ending them;
tests/faults/test_poison_message.py kills real worker processes."""

from unittest import mock

import pytest

from ingestion import services
from ingestion.models import DeadLetter, ImportJob, ImportRowError, TaskDelivery
from ingestion.tasks import import_chunk_task, import_split_task
from tests.ingestion.test_chunks import counters, split_job, wire_rows
from tests.ingestion.workbooks import clean_rows, ticket_row

pytestmark = pytest.mark.django_db

SPLIT = "ingestion.tasks.import_split_task"
CHUNK = "ingestion.tasks.import_chunk_task"


def crashed(task_id: str, task_name: str, times: int) -> None:
    """`times` earlier deliveries of the message started and never ended: their process died."""
    for _ in range(times):
        services.task_delivery_begin(task_id=task_id, task_name=task_name)


def pending_job() -> ImportJob:
    return ImportJob.objects.create(filename="t.xlsx", stored_name="imports/none.xlsx", sha256="0" * 64)


def test_deliveries_are_counted_until_one_ends():
    assert [services.task_delivery_begin(task_id="t1", task_name=CHUNK) for _ in range(3)] == [1, 2, 3]

    services.task_delivery_end(task_id="t1")

    assert services.task_delivery_begin(task_id="t1", task_name=CHUNK) == 1
    assert TaskDelivery.objects.get(pk="t1").task_name == CHUNK


def test_a_split_that_killed_its_worker_three_times_fails_the_job(settings):
    settings.INGESTION_MAX_WORKER_CRASHES = 3
    job = pending_job()
    crashed("split-1", SPLIT, 3)

    with mock.patch.object(services, "import_job_split") as split:
        import_split_task.apply(args=[str(job.pk)], task_id="split-1")

    split.assert_not_called()
    job.refresh_from_db()
    assert (job.status, job.error_code) == ("failed", "worker_crashed")
    assert job.error_message == (
        "The file could not be split: The worker processing it died 3 times (killed, out of memory or crashed), "
        "so it was not run again."
    )
    assert not TaskDelivery.objects.exists()


def test_a_split_below_the_limit_runs_again(settings):
    settings.INGESTION_MAX_WORKER_CRASHES = 3
    job = pending_job()
    crashed("split-2", SPLIT, 2)

    with mock.patch.object(services, "import_job_split") as split:
        import_split_task.apply(args=[str(job.pk)], task_id="split-2")

    split.assert_called_once_with(job_id=str(job.pk), resume=False)
    assert not TaskDelivery.objects.exists()


def test_a_chunk_that_killed_its_worker_three_times_is_dead_lettered(settings, mongo_db):
    settings.INGESTION_MAX_WORKER_CRASHES = 3
    job = split_job(total=2)
    rows = wire_rows([ticket_row(0), ticket_row(1)])
    crashed("chunk-1", CHUNK, 3)

    result = import_chunk_task.apply(args=[str(job.pk), 0, 2, rows], task_id="chunk-1")

    assert result.successful()
    assert counters(job) == ("completed_with_errors", 2, 0, 2)
    letter = DeadLetter.objects.get(job=job)
    assert (letter.chunk_no, letter.attempts, letter.payload["args"][3]) == (0, 3, rows)
    assert letter.error.startswith("WorkerCrashed: The worker processing it died 3 times")
    assert list(ImportRowError.objects.filter(job=job).values_list("row_no", flat=True)) == [2, 3]
    assert not TaskDelivery.objects.exists()


def test_a_replayed_dead_letter_imports_the_chunk(settings, admin_client, django_capture_on_commit_callbacks):
    settings.INGESTION_MAX_WORKER_CRASHES = 1
    job = split_job(total=1)
    rows = wire_rows(clean_rows(1))
    crashed("chunk-2", CHUNK, 1)
    import_chunk_task.apply(args=[str(job.pk), 0, 2, rows], task_id="chunk-2")
    letter = DeadLetter.objects.get(job=job)

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(f"/api/queue/dlq/{letter.pk}/retry")

    assert response.status_code == 202
    assert counters(job) == ("completed", 1, 1, 0)


def test_a_delivery_that_raises_ends_too():
    job = split_job(total=1)

    with mock.patch.object(services, "import_chunk_process", side_effect=ValueError("boom")):
        import_chunk_task.apply(args=[str(job.pk), 0, 2, [None]], task_id="chunk-3")

    assert not TaskDelivery.objects.exists()
    assert DeadLetter.objects.get(job=job).error.startswith("ValueError: boom")
