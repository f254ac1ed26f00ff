"""At-least-once delivery, exactly-once counting: redelivery, crashes, retries, the DLQ."""

from datetime import datetime
from unittest import mock

import pytest
from pymongo.errors import AutoReconnect

from ingestion import services
from ingestion.models import DeadLetter, ImportChunk, ImportJob, ImportRowError
from ingestion.tasks import import_chunk_task
from ingestion.ticket_rows import decode_rows, encode_rows
from techsupport.ticket_logs import COLLECTION
from tests.ingestion.workbooks import clean_rows, ticket_row, upload, workbook_bytes

pytestmark = pytest.mark.django_db


def wire_rows(rows):
    return [[v.isoformat() if isinstance(v, datetime) else v for v in row] for row in rows]


def split_job(total: int, chunks: int = 1) -> ImportJob:
    """A job whose split has finished: only its chunks are outstanding."""
    return ImportJob.objects.create(
        filename="t.xlsx",
        stored_name="imports/t.xlsx",
        sha256="0" * 64,
        status="processing",
        total=total,
        chunk_count=chunks,
    )


def counters(job: ImportJob):
    job.refresh_from_db()
    return job.status, job.total, job.processed, job.failed


def test_a_chunk_delivered_twice_is_counted_once(mongo_db):
    job = split_job(total=3)
    rows = wire_rows([ticket_row(0), ticket_row(1), ticket_row(2, estado="NOPE")])

    first = import_chunk_task.apply(args=[str(job.pk), 0, 2, rows])
    second = import_chunk_task.apply(args=[str(job.pk), 0, 2, rows])

    assert (first.result, second.result) == (True, False)
    assert counters(job) == ("completed_with_errors", 3, 2, 1)
    assert ImportChunk.objects.filter(job=job).count() == 1
    assert ImportRowError.objects.filter(job=job).count() == 1
    assert mongo_db[COLLECTION].count_documents({}) == 2


def test_a_crash_between_the_store_and_the_count_loses_nothing_and_counts_once(mongo_db):
    job = split_job(total=2)
    rows = wire_rows([ticket_row(0), ticket_row(1)])
    # The first delivery wrote to Mongo, then its worker died before the counting transaction.
    outcome = services.chunk_validate(job_id=job.pk, first_row_no=2, rows=rows)
    services.ticket_logs_store(outcome.documents)
    assert counters(job) == ("processing", 2, 0, 0)

    # acks_late + reject_on_worker_lost: the broker redelivers the same message.
    import_chunk_task.apply(args=[str(job.pk), 0, 2, rows])
    import_chunk_task.apply(args=[str(job.pk), 0, 2, rows])

    assert counters(job) == ("completed", 2, 2, 0)
    assert mongo_db[COLLECTION].count_documents({}) == 2


def test_the_job_finishes_only_when_the_split_is_done(mongo_db):
    job = split_job(total=1, chunks=None)
    import_chunk_task.apply(args=[str(job.pk), 0, 2, wire_rows([ticket_row(0)])])
    assert counters(job) == ("processing", 1, 1, 0)


def test_a_transient_store_failure_recovers_on_retry(admin_client, post_workbook, mongo_db):
    real_store = services.ticket_logs_store
    failures = [AutoReconnect("primary stepped down")]

    def store_failing_once(documents):
        if failures:
            raise failures.pop()
        real_store(documents)

    with mock.patch.object(services.chunks, "ticket_logs_store", side_effect=store_failing_once) as store:
        body = post_workbook(admin_client, workbook_bytes(clean_rows(3))).json()

    assert store.call_count == 2
    job = ImportJob.objects.get(pk=body["processId"])
    assert counters(job) == ("completed", 3, 3, 0)
    assert DeadLetter.objects.count() == 0
    assert mongo_db[COLLECTION].count_documents({}) == 3


def test_a_chunk_that_keeps_failing_goes_to_the_dlq_and_a_replay_corrects_the_counters(
    admin_client, post_workbook, mongo_db, settings, django_capture_on_commit_callbacks
):
    settings.INGESTION_CHUNK_SIZE = 2
    rows = [ticket_row(0), ticket_row(1), ticket_row(2), ticket_row(3, estado="NOPE")]
    real_store = services.ticket_logs_store
    calls = {"n": 0}

    def store_failing_for_the_second_chunk(documents):
        if documents and documents[0]["_id"] == "00000000-0000-0000-0000-000000000003":
            calls["n"] += 1
            raise AutoReconnect("connection reset")
        real_store(documents)

    with mock.patch.object(services.chunks, "ticket_logs_store", side_effect=store_failing_for_the_second_chunk):
        body = post_workbook(admin_client, workbook_bytes(rows)).json()

    assert calls["n"] == 4  # the first attempt and 3 retries
    job = ImportJob.objects.get(pk=body["processId"])
    assert counters(job) == ("completed_with_errors", 4, 2, 2)
    letter = DeadLetter.objects.get()
    assert (letter.job_id, letter.chunk_no, letter.attempts, letter.task_name) == (
        job.pk,
        1,
        4,
        "ingestion.tasks.import_chunk_task",
    )
    assert letter.error.startswith("AutoReconnect: connection reset")
    assert letter.payload["args"][:3] == [str(job.pk), 1, 4]
    assert len(letter.payload["args"][3]) == 2
    assert list(job.row_errors.values_list("row_no", "column")) == [(4, ""), (5, "")]
    assert job.row_errors.first().message.startswith(
        f"Not stored: its chunk failed after 4 attempt(s) and is in the dead-letter queue ({letter.pk})."
    )
    dlq = admin_client.get("/api/queue/dlq").json()
    assert dlq["total"] == 1
    assert dlq["data"][0] | {"createdAt": None, "updatedAt": None} == {
        "id": str(letter.pk),
        "processId": str(job.pk),
        "chunkNo": 1,
        "firstRow": 4,
        "rowCount": 2,
        "task": "ingestion.tasks.import_chunk_task",
        "error": letter.error,
        "attempts": 4,
        "createdAt": None,
        "updatedAt": None,
    }
    assert admin_client.get("/api/queue/stats").json()["deadLetter"] == 1

    # the store is healthy again: replay the letter through the API
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(f"/api/queue/dlq/{letter.pk}/retry")

    assert response.status_code == 202
    assert response.json() == {"id": str(letter.pk), "processId": str(job.pk), "chunkNo": 1, "status": "requeued"}
    assert DeadLetter.objects.count() == 0
    # row 4 stored, row 5 rejected for its real reason
    assert counters(job) == ("completed_with_errors", 4, 3, 1)
    assert list(job.row_errors.values_list("row_no", "column", "message")) == [
        (5, "estado", "Must be one of OPEN, IN_PROGRESS, RESOLVED, CLOSED, ESCALATED, WAITING_CUSTOMER.")
    ]
    assert mongo_db[COLLECTION].count_documents({}) == 3
    chunk = ImportChunk.objects.get(job=job, chunk_no=1)
    assert (chunk.processed, chunk.failed, chunk.dead_lettered) == (1, 1, False)


def test_a_replay_that_fails_again_keeps_the_letter_and_the_counts(mongo_db, django_capture_on_commit_callbacks):
    job = split_job(total=1)
    rows = wire_rows([ticket_row(0)])
    with mock.patch.object(services.chunks, "ticket_logs_store", side_effect=AutoReconnect("down")):
        import_chunk_task.apply(args=[str(job.pk), 0, 2, rows])
        letter = DeadLetter.objects.get()
        with django_capture_on_commit_callbacks(execute=True):
            services.dead_letter_retry(dead_letter=letter)

    letter.refresh_from_db()
    assert letter.attempts == 8
    assert counters(job) == ("completed_with_errors", 1, 0, 1)
    assert ImportRowError.objects.filter(job=job).count() == 1

    with django_capture_on_commit_callbacks(execute=True):
        services.dead_letter_retry(dead_letter=letter)

    assert counters(job) == ("completed", 1, 1, 0)
    assert ImportRowError.objects.filter(job=job).count() == 0
    # a redelivered replay finds the letter gone and changes nothing
    assert import_chunk_task.apply(args=[str(job.pk), 0, 2, rows], kwargs={"replay_of": str(letter.pk)}).result is False
    assert counters(job) == ("completed", 1, 1, 0)


def test_a_non_transient_error_goes_to_the_dlq_without_retries(mongo_db):
    job = split_job(total=1)
    with mock.patch.object(services.chunks, "ticket_logs_store", side_effect=ValueError("bad document")) as store:
        import_chunk_task.apply(args=[str(job.pk), 0, 2, wire_rows([ticket_row(0)])])

    assert store.call_count == 1
    assert DeadLetter.objects.get().attempts == 1
    assert counters(job) == ("completed_with_errors", 1, 0, 1)


def test_a_dead_letter_for_an_already_counted_chunk_changes_nothing(mongo_db):
    job = split_job(total=1)
    rows = wire_rows([ticket_row(0)])
    import_chunk_task.apply(args=[str(job.pk), 0, 2, rows])

    letter = services.import_chunk_dead_letter(
        task_name="ingestion.tasks.import_chunk_task",
        job_id=job.pk,
        chunk_no=0,
        first_row_no=2,
        rows=rows,
        duplicates=None,
        replay_of=None,
        error="late failure of a second delivery",
        attempts=4,
    )

    assert letter is None
    assert DeadLetter.objects.count() == 0
    assert counters(job) == ("completed", 1, 1, 0)


def test_the_split_sends_a_chunk_as_one_json_text_with_a_short_argsrepr(settings):
    settings.INGESTION_CHUNK_SIZE = 2
    rows = [ticket_row(0), [None] * 8, ticket_row(1, agente_id=None, nivel_escalamiento=2)]
    job = services.import_job_create(file=upload(workbook_bytes(rows)), filename="t.xlsx")

    with mock.patch.object(import_chunk_task, "apply_async") as publish:
        services.import_job_split(job_id=job.pk)

    sent = [call.args[0] for call in publish.call_args_list]
    assert [(args[1], args[2], type(args[3])) for args in sent] == [(0, 2, str), (1, 4, str)]
    assert [decode_rows(args[3]) for args in sent] == [
        [wire_rows([ticket_row(0)])[0], None],
        [[*wire_rows([ticket_row(1)])[0][:5], "", 2.0, "RESOLVED"]],  # cells as read: the chunk converts
    ]
    assert [call.kwargs["argsrepr"] for call in publish.call_args_list] == [
        f"('{job.pk}', 0, 2, <2 rows>, ...)",
        f"('{job.pk}', 1, 4, <1 rows>, ...)",
    ]


def test_a_chunk_sent_as_text_is_stored_and_dead_lettered_as_wire_rows(mongo_db):
    job = split_job(total=2, chunks=2)
    cells = [[*wire_rows([ticket_row(0)])[0][:5], "", 1.0, "RESOLVED"]]  # as calamine reads them
    text = encode_rows(cells)
    import_chunk_task.apply(args=[str(job.pk), 0, 2, text])
    with mock.patch.object(services.chunks, "ticket_logs_store", side_effect=ValueError("bad document")):
        import_chunk_task.apply(args=[str(job.pk), 1, 3, encode_rows([None, *cells])])

    stored = mongo_db[COLLECTION].find_one({"_id": ticket_row(0)[0]})
    assert (stored["agentId"], stored["escalationLevel"]) == (None, 1)
    letter = DeadLetter.objects.get()
    assert letter.payload["args"][3] == [None, [*wire_rows([ticket_row(0)])[0][:5], None, 1, "RESOLVED"]]
    assert counters(job) == ("completed_with_errors", 2, 1, 1)
