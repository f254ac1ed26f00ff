"""Chunks that still fail after their retries, and their replay."""

import structlog
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from ingestion.models import DeadLetter, ImportChunk, ImportJob, ImportRowError
from ingestion.services.chunks import count_rows_metric, finish_if_done
from ingestion.ticket_rows import decode_rows, wire_row

logger = structlog.get_logger(__name__)


def import_chunk_dead_letter(
    *,
    task_name: str,
    job_id,
    chunk_no: int,
    first_row_no: int,
    rows: list | str,
    duplicates: dict | None,
    replay_of: str | None,
    error: str,
    attempts: int,
) -> DeadLetter | None:
    """A chunk that still fails after its retries: writes the `DeadLetter` and counts the chunk's
    rows as failed (one row error each), inside the same exactly-once scheme — if the chunk was
    already counted by another delivery, nothing happens. A failed replay only updates its letter."""
    error = error[:4000]
    # The letter keeps wire rows (the split sends JSON text): readable, and replayed as they are.
    rows = [None if row is None else wire_row(row) for row in decode_rows(rows)]
    if replay_of is not None:
        DeadLetter.objects.filter(pk=replay_of).update(
            error=error, attempts=F("attempts") + attempts, updated_at=timezone.now()
        )
        return DeadLetter.objects.filter(pk=replay_of).first()
    row_nos = [first_row_no + offset for offset, row in enumerate(rows) if row is not None]
    with transaction.atomic():
        try:
            with transaction.atomic():
                ImportChunk.objects.create(
                    job_id=job_id,
                    chunk_no=chunk_no,
                    first_row_no=first_row_no,
                    row_count=len(row_nos),
                    processed=0,
                    failed=len(row_nos),
                    dead_lettered=True,
                )
        except IntegrityError:
            return None
        letter = DeadLetter.objects.create(
            job_id=job_id,
            chunk_no=chunk_no,
            task_name=task_name,
            payload={"args": [str(job_id), chunk_no, first_row_no, rows], "kwargs": {"duplicates": duplicates}},
            error=error,
            attempts=attempts,
        )
        _rows_failed(letter, row_nos)
    logger.error("import_chunk_dead_lettered", job_id=str(job_id), chunk_no=chunk_no, attempts=attempts, error=error)
    return letter


def _rows_failed(letter: DeadLetter, row_nos: list[int]) -> None:
    """In the dead-lettering transaction: one row error per row of the chunk, pointing at the
    letter, and the rows counted as failed."""
    first_line = letter.error.splitlines()[0][:200] if letter.error else ""
    message = (
        f"Not stored: its chunk failed after {letter.attempts} attempt(s) and is in the dead-letter queue "
        f"({letter.pk}). {first_line}"
    ).strip()
    ImportRowError.objects.bulk_create(
        ImportRowError(job_id=letter.job_id, row_no=row_no, column="", value="", message=message[:500])
        for row_no in row_nos
    )
    ImportJob.objects.filter(pk=letter.job_id).update(failed=F("failed") + len(row_nos))
    finish_if_done(letter.job_id)
    transaction.on_commit(lambda: count_rows_metric(0, len(row_nos)))


def dead_letter_retry(*, dead_letter: DeadLetter) -> DeadLetter:
    """Re-enqueues the dead letter's chunk task with the same arguments. On success the chunk
    task corrects the counters and deletes the letter; on failure the letter records the new
    error and attempts."""
    args = dead_letter.payload["args"]
    kwargs = {**(dead_letter.payload.get("kwargs") or {}), "replay_of": str(dead_letter.pk)}

    def enqueue():
        from ingestion.tasks import import_chunk_task

        import_chunk_task.apply_async(args=args, kwargs=kwargs)

    transaction.on_commit(enqueue)
    logger.info("dead_letter_retry", dead_letter_id=str(dead_letter.pk), job_id=str(dead_letter.job_id))
    return dead_letter
