"""Validating, storing and counting one chunk, exactly once."""

from dataclasses import astuple, dataclass, field

import structlog
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from pymongo import ReplaceOne
from pymongo.errors import BulkWriteError

from ingestion import metrics
from ingestion.models import DeadLetter, ImportChunk, ImportJob, ImportJobStatus, ImportRowError
from ingestion.ticket_rows import (
    COLUMN_KEYS,
    TICKET_ID,
    decode_rows,
    valid_row_values,
    validate_row,
    wire_row,
)
from techsupport.mongo import get_db
from techsupport.ticket_logs import COLLECTION, ticket_log_document

logger = structlog.get_logger(__name__)

# MongoDB's duplicate-key error: the document is already stored.
_DUPLICATE_KEY = 11000


@dataclass
class ChunkOutcome:
    """What a chunk's rows came to: the documents to store and the rejected rows."""

    documents: list[dict] = field(default_factory=list)
    errors: list[ImportRowError] = field(default_factory=list)
    row_count: int = 0
    failed_rows: int = 0

    @property
    def processed(self) -> int:
        return len(self.documents)


def chunk_validate(*, job_id, first_row_no: int, rows: list | str, duplicates: dict | None = None) -> ChunkOutcome:
    """Validates a chunk's rows — the split's JSON text or wire rows (pure apart from the
    clock): blank rows (None) are skipped. A row the fast path does not take is judged on its
    `wire_row`."""
    rows = decode_rows(rows)
    outcome = ChunkOutcome()
    duplicates = duplicates or {}
    now = timezone.now()
    job_key = str(job_id)
    for offset, row in enumerate(rows):
        if row is None:
            continue
        outcome.row_count += 1
        row_no = first_row_no + offset
        duplicate_of = duplicates.get(str(row_no)) if duplicates else None
        values = valid_row_values(row) if duplicate_of is None else None
        errors = None
        if values is None:  # not the common spelling, or a duplicate: the general path
            values, errors = _validated(wire_row(row), duplicate_of)
        if errors:
            outcome.failed_rows += 1
            outcome.errors.extend(
                ImportRowError(job_id=job_id, row_no=row_no, column=column, value=value, message=message)
                for column, value, message in errors
            )
            continue
        ticket_id, client_id, client_type, created_at, resolved_at, agent_id, level, status = values
        outcome.documents.append(
            ticket_log_document(
                ticket_id=ticket_id,
                client_id=client_id,
                client_type=client_type,
                created_at=created_at,
                resolved_at=resolved_at,
                agent_id=agent_id,
                escalation_level=level,
                status=status,
                source="import",
                import_job_id=job_key,
                updated_at=now,
            )
        )
    return outcome


def _validated(row: list, duplicate_of: int | None) -> tuple[tuple | None, list]:
    """The general path: (values, []) or (None, errors), the duplicate named last."""
    valid, errors = validate_row(row)
    if duplicate_of is not None:
        message = f"Duplicate ticket_id: row {duplicate_of} has it already."
        errors.append((COLUMN_KEYS[TICKET_ID], str(row[TICKET_ID])[:200], message))
    if errors:
        return None, errors
    return astuple(valid), []


def ticket_logs_store(documents: list[dict]) -> None:
    """Writes documents keyed by `_id`: one unordered insert; the ids that already exist (code
    11000: an earlier import, or an earlier delivery of this chunk) are then replaced, so a
    corrected re-import updates them. Any other write error raises."""
    if not documents:
        return
    collection = get_db()[COLLECTION]
    try:
        collection.insert_many(documents, ordered=False)
    except BulkWriteError as exc:
        write_errors = exc.details.get("writeErrors", [])
        if any(error.get("code") != _DUPLICATE_KEY for error in write_errors):
            raise
        replacements = [
            ReplaceOne({"_id": documents[error["index"]]["_id"]}, documents[error["index"]], upsert=True)
            for error in write_errors
        ]
        collection.bulk_write(replacements, ordered=False)


def finish_if_done(job_id) -> None:
    """Called inside the counting transaction: the job row is locked, so whichever transaction
    brings processed + failed to total (after the split has finished) sees it and ends the job."""
    job = ImportJob.objects.select_for_update().get(pk=job_id)
    if job.chunk_count is None or job.status == ImportJobStatus.FAILED:
        return
    if job.processed + job.failed != job.total:
        return
    status = ImportJobStatus.COMPLETED if job.failed == 0 else ImportJobStatus.COMPLETED_WITH_ERRORS
    if job.status != status or job.finished_at is None:
        job.status = status
        job.finished_at = job.finished_at or timezone.now()
        job.save(update_fields=["status", "finished_at"])
        logger.info("import_job_finished", job_id=str(job.pk), status=status, total=job.total, failed=job.failed)
        if job.started_at:
            duration = (job.finished_at - job.started_at).total_seconds()
            transaction.on_commit(lambda: metrics.ingestion_job_duration_seconds.observe(duration))


def chunk_count(
    *, job_id, chunk_no: int, first_row_no: int, outcome: ChunkOutcome, replay_of: str | None = None
) -> bool:
    """Counts a stored chunk exactly once, in one transaction: the unique `ImportChunk` row, the
    row errors, the F()-increments of the job's counters and the finish check. Returns False
    when an earlier delivery already counted it (nothing changes).

    With `replay_of` (a dead letter's id) the chunk was counted as all-failed when it was
    dead-lettered; its counts are corrected to the real outcome and the letter is deleted."""
    with transaction.atomic():
        if replay_of is not None:
            letter = DeadLetter.objects.select_for_update().filter(pk=replay_of).first()
            if letter is None:
                return False  # an earlier delivery of this replay counted it
            chunk = ImportChunk.objects.select_for_update().get(job_id=job_id, chunk_no=chunk_no)
            delta_processed = outcome.processed - chunk.processed
            delta_failed = outcome.failed_rows - chunk.failed
            end_row_no = first_row_no + len(letter.payload["args"][3])
            ImportRowError.objects.filter(job_id=job_id, row_no__gte=first_row_no, row_no__lt=end_row_no).delete()
            chunk.processed, chunk.failed, chunk.dead_lettered = outcome.processed, outcome.failed_rows, False
            chunk.save(update_fields=["processed", "failed", "dead_lettered", "counted_at"])
            letter.delete()
        else:
            try:
                with transaction.atomic():
                    ImportChunk.objects.create(
                        job_id=job_id,
                        chunk_no=chunk_no,
                        first_row_no=first_row_no,
                        row_count=outcome.row_count,
                        processed=outcome.processed,
                        failed=outcome.failed_rows,
                    )
            except IntegrityError:
                return False
            delta_processed, delta_failed = outcome.processed, outcome.failed_rows
        ImportRowError.objects.bulk_create(outcome.errors)
        ImportJob.objects.filter(pk=job_id).update(
            processed=F("processed") + delta_processed, failed=F("failed") + delta_failed
        )
        finish_if_done(job_id)
        transaction.on_commit(lambda: count_rows_metric(delta_processed, delta_failed))
    return True


def count_rows_metric(stored: int, failed: int) -> None:
    # Replays move rows from failed to stored: counters only go up, so count the gain only.
    if stored > 0:
        metrics.ingestion_rows_total.labels(outcome="stored").inc(stored)
    if failed > 0:
        metrics.ingestion_rows_total.labels(outcome="failed").inc(failed)


def chunk_already_counted(*, job_id, chunk_no: int, replay_of: str | None = None) -> bool:
    if replay_of is not None:
        return not DeadLetter.objects.filter(pk=replay_of).exists()
    return ImportChunk.objects.filter(job_id=job_id, chunk_no=chunk_no).exists()


def import_chunk_process(
    *,
    job_id,
    chunk_no: int,
    first_row_no: int,
    rows: list | str,
    duplicates: dict | None = None,
    replay_of: str | None = None,
) -> bool:
    """Validates, stores and counts one chunk. Idempotent: a redelivered chunk that was already
    counted does nothing; one that crashed between the Mongo write and the count rewrites the
    same documents (keyed by ticket id) and is counted once. Returns whether it counted."""
    if chunk_already_counted(job_id=job_id, chunk_no=chunk_no, replay_of=replay_of):
        return False
    if not ImportJob.objects.filter(pk=job_id).exclude(status=ImportJobStatus.FAILED).exists():
        return False
    outcome = chunk_validate(job_id=job_id, first_row_no=first_row_no, rows=rows, duplicates=duplicates)
    ticket_logs_store(outcome.documents)
    return chunk_count(
        job_id=job_id, chunk_no=chunk_no, first_row_no=first_row_no, outcome=outcome, replay_of=replay_of
    )
