"""Writes of the ingestion pipeline: upload, split, chunk store + count, dead letters, replay.

Delivery is at-least-once (acks_late, reject_on_worker_lost, retries); counting is exactly once:
a chunk is counted in the PostgreSQL transaction that inserts its unique `ImportChunk` row, and
Mongo writes are keyed by ticket id, so repeating any step changes nothing twice.
See docs/adr/0004-ingestion-exactly-once-and-dlq.md.
"""

import hashlib
import os
import shutil
import tempfile
import unicodedata
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Max, Value
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone
from pymongo import ReplaceOne
from pymongo.errors import BulkWriteError

from ingestion import metrics
from ingestion.models import DeadLetter, ImportChunk, ImportJob, ImportJobStatus, ImportRowError, TaskDelivery
from ingestion.ticket_rows import (
    COLUMN_KEYS,
    TICKET_ID,
    HeaderError,
    canonical_uuid,
    map_header,
    sheet_row_to_wire,
    validate_row,
)
from ingestion.xlsx_prescan import SheetLimits, open_first_sheet
from ingestion.xlsx_reader import WorkbookError, inspect_xlsx
from techsupport.exceptions import PayloadTooLarge, UnsupportedMedia
from techsupport.mongo import get_db
from techsupport.tasks import publish, publish_on_commit
from techsupport.ticket_logs import COLLECTION, ticket_log_document

logger = structlog.get_logger(__name__)

MB = 1024 * 1024
_DUPLICATE_KEY = 11000


# --- Upload ------------------------------------------------------------------------------


def display_filename(name: str | None) -> str:
    """The client's file name reduced to a harmless basename, for display only (storage names
    are generated, never taken from the client)."""
    base = os.path.basename((name or "").replace("\\", "/"))
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip().lstrip(".")
    return base[:255] or "upload.xlsx"


def import_job_create(*, file, filename: str | None, uploaded_by=None, chunk_size: int | None = None) -> ImportJob:
    """Checks and stores an uploaded workbook, creates its `ImportJob` (pending) and enqueues the
    split once the transaction commits. Never parses rows. Raises 413 `file_too_large` over
    INGESTION_MAX_UPLOAD_MB, 413 `uncompressed_too_large` when the zip would inflate past
    INGESTION_MAX_UNCOMPRESSED_MB, 415 `not_xlsx` when the content is not an xlsx workbook.

    The same file uploaded twice makes two jobs; documents are keyed by ticket id, so the second
    run rewrites the same documents instead of duplicating them."""
    limit = settings.INGESTION_MAX_UPLOAD_MB * MB
    if file.size > limit:
        raise PayloadTooLarge(
            f"The file is larger than the {settings.INGESTION_MAX_UPLOAD_MB} MB limit.",
            details={"maxBytes": limit, "sizeBytes": file.size},
        )
    try:
        inspect_xlsx(file, max_uncompressed_bytes=settings.INGESTION_MAX_UNCOMPRESSED_MB * MB)
    except WorkbookError as exc:
        if exc.code in ("uncompressed_too_large", "too_many_parts"):
            raise PayloadTooLarge(exc.message, code=exc.code) from exc
        raise UnsupportedMedia(exc.message, code=exc.code) from exc

    digest = hashlib.sha256()
    for block in file.chunks():
        digest.update(block)
    file.seek(0)
    job_id = uuid.uuid4()
    stored_name = default_storage.save(f"imports/{job_id}.xlsx", file)
    with transaction.atomic():
        job = ImportJob.objects.create(
            id=job_id,
            uploaded_by=uploaded_by,
            filename=display_filename(filename),
            stored_name=stored_name,
            size_bytes=file.size,
            sha256=digest.hexdigest(),
            chunk_size=chunk_size or settings.INGESTION_CHUNK_SIZE,
        )
        # A broker outage at this instant must not turn the accepted upload into an error: the
        # job stays pending and `import_jobs_redrive` enqueues it later.
        publish_on_commit(_split_task(), [job.id], per_row=True)
    logger.info("import_job_created", job_id=str(job.id), size_bytes=file.size, sha256=job.sha256)
    return job


def _split_task():
    from ingestion.tasks import import_split_task

    return import_split_task


def import_jobs_redrive(
    *,
    pending_after: timedelta = timedelta(minutes=10),
    stalled_after: timedelta = timedelta(minutes=15),
    now: datetime | None = None,
) -> int:
    """The slow path that makes sure every accepted upload finishes; returns the jobs re-driven.

    - `pending` after `pending_after`: the split was never enqueued (the process died, or the
      broker was down, between commit and enqueue) → enqueue it.
    - `processing` with no chunk counted for `stalled_after`: a message was lost on the way (a
      broker restarted without persistence, or a worker killed in the instant between taking a
      message off the queue and recording it as unacknowledged) → resume: the split runs again
      over the stored file and enqueues only the chunks that were never counted.
    Both are harmless when nothing was lost (a split or chunk delivered twice counts once), so the
    thresholds only trade recovery time against duplicate work on a backed-up queue."""
    now = now or timezone.now()
    pending = list(
        ImportJob.objects.filter(status=ImportJobStatus.PENDING, created_at__lt=now - pending_after).values_list(
            "pk", flat=True
        )[:500]
    )
    stalled = list(
        ImportJob.objects.filter(status=ImportJobStatus.PROCESSING)
        .annotate(last_progress=Coalesce(Max("chunks__counted_at"), "started_at", "created_at"))
        .filter(last_progress__lt=now - stalled_after)
        .values_list("pk", flat=True)[:500]
    )
    publish(_split_task(), pending, per_row=True)
    publish(_split_task(), stalled, per_row=True, kwargs={"resume": True})
    if pending or stalled:
        logger.warning("import_jobs_redriven", pending=len(pending), stalled=len(stalled))
    return len(pending) + len(stalled)


# --- Split -------------------------------------------------------------------------------


@contextmanager
def _local_copy(stored_name: str) -> Iterator[str]:
    """A filesystem path to the stored workbook (a temporary copy for remote storages)."""
    try:
        path = default_storage.path(stored_name)
    except NotImplementedError:
        path = None
    if path is not None:
        yield path
        return
    with tempfile.NamedTemporaryFile(suffix=".xlsx") as copy, default_storage.open(stored_name, "rb") as source:
        shutil.copyfileobj(source, copy)
        copy.flush()
        yield copy.name


def import_job_fail(*, job_id, message: str, code: str) -> None:
    """Ends a job as `failed` with a reason and a stable code (unless it already finished)."""
    ImportJob.objects.filter(pk=job_id).exclude(
        status__in=[ImportJobStatus.COMPLETED, ImportJobStatus.COMPLETED_WITH_ERRORS]
    ).update(
        status=ImportJobStatus.FAILED, error_message=message[:2000], error_code=code[:64], finished_at=timezone.now()
    )
    logger.warning("import_job_failed", job_id=str(job_id), code=code, reason=message)


def _sheet_limits() -> SheetLimits:
    return SheetLimits(
        max_rows=settings.INGESTION_MAX_ROWS,
        max_columns=settings.INGESTION_MAX_COLUMNS,
        max_cells=settings.INGESTION_MAX_CELLS,
    )


def import_job_split(*, job_id, resume: bool = False) -> None:
    """Bounds and reads the first sheet, checks the header and enqueues one chunk task per
    `chunk_size` rows. Safe to run again (a redelivered split): chunk numbers and `total` are
    deterministic and already counted chunks are skipped by the chunk task. `resume` runs it
    again for a job whose split already finished and enqueues only the chunks never counted.

    A workbook over a limit (ingestion/xlsx_prescan.py), unreadable, empty or without the
    required columns fails the job with `error_code` and `error_message`, before any chunk.

    Duplicate ticket ids inside one file: the first occurrence is kept, each later one becomes a
    row error naming the first row (the split sees the whole file, so it is the one to know)."""
    job = ImportJob.objects.get(pk=job_id)
    if job.status in (ImportJobStatus.COMPLETED, ImportJobStatus.COMPLETED_WITH_ERRORS, ImportJobStatus.FAILED):
        return
    if job.chunk_count is not None and not resume:
        return  # split already finished; its chunks are queued or counted
    counted = set(ImportChunk.objects.filter(job=job).values_list("chunk_no", flat=True)) if resume else set()
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJobStatus.PROCESSING, started_at=job.started_at or timezone.now()
    )
    try:
        with (
            _local_copy(job.stored_name) as path,
            open_first_sheet(path, _sheet_limits(), temp_dir=settings.FILE_UPLOAD_TEMP_DIR) as sheet,
        ):
            # Before the first chunk: the height bounds the total, so progress can use it.
            ImportJob.objects.filter(pk=job.pk).update(rows_bound=max(0, sheet.height - 1))
            total, chunks = _split_rows(job, sheet, counted)
    except WorkbookError as exc:
        import_job_fail(job_id=job.pk, message=exc.message, code=exc.code)
        return
    with transaction.atomic():
        ImportJob.objects.filter(pk=job.pk).update(total=total, chunk_count=chunks)
        _finish_if_done(job.pk)
    logger.info(
        "import_job_split", job_id=str(job.pk), total=total, chunks=chunks, resumed=len(counted) if resume else None
    )


def _split_rows(job: ImportJob, sheet, counted: set[int]) -> tuple[int, int]:
    """Enqueues the sheet's rows in chunks; returns (total rows, chunks). Raises WorkbookError
    when the sheet is empty or its header lacks a column."""
    from ingestion.tasks import import_chunk_task

    rows = sheet.rows()
    header = next(rows, None)
    if header is None:
        raise WorkbookError("The first sheet is empty: it needs a header row.", "empty_sheet")
    try:
        positions = map_header(header[1])
    except HeaderError as exc:
        raise WorkbookError(str(exc), exc.code) from exc

    chunk_no, total, chunk_size = 0, 0, job.chunk_size
    buffer: list = []
    first_row_no = None
    duplicates: dict[str, int] = {}
    seen: dict[str, int] = {}

    def flush():
        nonlocal chunk_no, buffer, duplicates, first_row_no
        # `total` first, so processed + failed never exceeds it. Never lowered: a resumed
        # or redelivered split passes through smaller running totals, and a job whose
        # split had finished would look done at one of them while chunks are still due.
        ImportJob.objects.filter(pk=job.pk).update(total=Greatest("total", Value(total)))
        if chunk_no not in counted:
            import_chunk_task.delay(str(job.pk), chunk_no, first_row_no, buffer, duplicates or None)
        chunk_no += 1
        buffer, duplicates, first_row_no = [], {}, None

    for row_no, values in rows:
        wire = sheet_row_to_wire(values, positions)
        if first_row_no is None:
            first_row_no = row_no
        buffer.append(wire)
        if wire is not None:
            total += 1
            # Only UUIDs: repeated garbage is already rejected as "not a UUID".
            key = canonical_uuid(wire[TICKET_ID])
            if key is not None:
                if key in seen:
                    duplicates[str(row_no)] = seen[key]
                else:
                    seen[key] = row_no
        if len(buffer) >= chunk_size:
            flush()
    if buffer:
        flush()
    return total, chunk_no


# --- Chunks ------------------------------------------------------------------------------


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


def chunk_validate(*, job_id, first_row_no: int, rows: list, duplicates: dict | None = None) -> ChunkOutcome:
    """Validates wire rows (pure apart from the clock): blank rows (None) are skipped."""
    outcome = ChunkOutcome()
    duplicates = duplicates or {}
    now = timezone.now()
    job_key = str(job_id)
    for offset, row in enumerate(rows):
        if row is None:
            continue
        outcome.row_count += 1
        row_no = first_row_no + offset
        valid, errors = validate_row(row)
        first = duplicates.get(str(row_no))
        if first is not None:
            errors.append(
                (COLUMN_KEYS[TICKET_ID], str(row[TICKET_ID])[:200], f"Duplicate ticket_id: row {first} has it already.")
            )
        if errors:
            outcome.failed_rows += 1
            outcome.errors.extend(
                ImportRowError(job_id=job_id, row_no=row_no, column=column, value=value, message=message)
                for column, value, message in errors
            )
            continue
        outcome.documents.append(
            ticket_log_document(
                ticket_id=valid.ticket_id,
                client_id=valid.client_id,
                client_type=valid.client_type,
                created_at=valid.created_at,
                resolved_at=valid.resolved_at,
                agent_id=valid.agent_id,
                escalation_level=valid.escalation_level,
                status=valid.status,
                source="import",
                import_job_id=job_key,
                updated_at=now,
            )
        )
    return outcome


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


def _finish_if_done(job_id) -> None:
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
        _finish_if_done(job_id)
        transaction.on_commit(lambda: _count_rows_metric(delta_processed, delta_failed))
    return True


def _count_rows_metric(stored: int, failed: int) -> None:
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
    rows: list,
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


# --- Dead letters ------------------------------------------------------------------------


def import_chunk_dead_letter(
    *,
    task_name: str,
    job_id,
    chunk_no: int,
    first_row_no: int,
    rows: list,
    duplicates: dict | None,
    replay_of: str | None,
    error: str,
    attempts: int,
) -> DeadLetter | None:
    """A chunk that still fails after its retries: writes the `DeadLetter` and counts the chunk's
    rows as failed (one row error each), inside the same exactly-once scheme — if the chunk was
    already counted by another delivery, nothing happens. A failed replay only updates its letter."""
    error = error[:4000]
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
        message = (
            f"Not stored: its chunk failed after {attempts} attempt(s) and is in the dead-letter queue "
            f"({letter.pk}). {error.splitlines()[0][:200] if error else ''}"
        ).strip()
        ImportRowError.objects.bulk_create(
            ImportRowError(job_id=job_id, row_no=row_no, column="", value="", message=message[:500])
            for row_no in row_nos
        )
        ImportJob.objects.filter(pk=job_id).update(failed=F("failed") + len(row_nos))
        _finish_if_done(job_id)
        transaction.on_commit(lambda: _count_rows_metric(0, len(row_nos)))
    logger.error("import_chunk_dead_lettered", job_id=str(job_id), chunk_no=chunk_no, attempts=attempts, error=error)
    return letter


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


# --- Deliveries that kill their worker ----------------------------------------------------


def task_delivery_begin(*, task_id: str, task_name: str) -> int:
    """Records that a delivery of `task_id` starts, committed at once (outside any caller's
    transaction in a worker), and returns how many deliveries started without ending — this one
    included. Above 1, the earlier ones died with their process. One upsert (PostgreSQL and
    SQLite both have ON CONFLICT ... RETURNING): it runs before every chunk."""
    table = connection.ops.quote_name(TaskDelivery._meta.db_table)
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (task_id, task_name, deliveries, first_started_at, last_started_at) "  # noqa: S608
            "VALUES (%s, %s, 1, %s, %s) ON CONFLICT (task_id) DO UPDATE "
            f"SET deliveries = {table}.deliveries + 1, last_started_at = excluded.last_started_at "
            "RETURNING deliveries",
            [task_id, task_name[:200], now, now],
        )
        return cursor.fetchone()[0]


def task_delivery_end(*, task_id: str) -> None:
    """The delivery ended in Python (returned, raised or is retrying): its process survived."""
    TaskDelivery.objects.filter(pk=task_id).delete()


def worker_crash_message(deliveries: int) -> str:
    return (
        f"The worker processing it died {deliveries - 1} times (killed, out of memory or crashed), "
        "so it was not run again."
    )
