"""Reading the stored workbook (bounded first: ingestion/xlsx_prescan.py) and cutting it into chunk tasks."""

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

import structlog
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Value
from django.db.models.functions import Greatest
from django.utils import timezone

from ingestion.models import FINISHED_STATUSES, ImportChunk, ImportJob, ImportJobStatus
from ingestion.services.chunks import finish_if_done
from ingestion.ticket_rows import (
    TICKET_ID,
    HeaderError,
    canonical_uuid,
    cell_picker,
    cells_blank,
    encode_rows,
    map_header,
)
from ingestion.xlsx_prescan import SheetLimits, open_first_sheet
from ingestion.xlsx_reader import WorkbookError

logger = structlog.get_logger(__name__)


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
    ImportJob.objects.filter(pk=job_id).exclude(status__in=FINISHED_STATUSES - {ImportJobStatus.FAILED}).update(
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
    if job.status in FINISHED_STATUSES:
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
        finish_if_done(job.pk)
    logger.info(
        "import_job_split", job_id=str(job.pk), total=total, chunks=chunks, resumed=len(counted) if resume else None
    )


def _split_rows(job: ImportJob, sheet, counted: set[int]) -> tuple[int, int]:
    """Enqueues the sheet's rows in chunks; returns (total rows, chunks). Raises WorkbookError
    when the sheet is empty or its header lacks a column."""
    rows = sheet.rows()
    header = next(rows, None)
    if header is None:
        raise WorkbookError("The first sheet is empty: it needs a header row.", "empty_sheet")
    try:
        positions = map_header(header[1])
    except HeaderError as exc:
        raise WorkbookError(str(exc), exc.code) from exc
    chunks = _Chunks(job, counted)
    pick = cell_picker(positions)
    add = chunks.add
    for row_no, values in rows:
        cells = pick(values)
        ticket_id = cells[TICKET_ID]
        # The usual row has its ticket id; only a row without one may be blank.
        if type(ticket_id) is str and ticket_id and not ticket_id.isspace():
            add(row_no, cells, ticket_id)
        elif cells_blank(cells):
            add(row_no, None, None)
        else:
            add(row_no, cells, ticket_id)
    chunks.flush()
    return chunks.total, chunks.chunk_no


class _Chunks:
    """Cuts the rows into chunk tasks of `job.chunk_size` rows (blank rows travel as None, so
    Excel row numbers stay exact), skipping the chunk numbers already `counted`, and notes the
    duplicate ticket ids: the first occurrence is kept, a later one names the first's row. A
    chunk's rows travel as one JSON text of the picked cells (`encode_rows`); the chunk turns
    them into wire rows."""

    def __init__(self, job: ImportJob, counted: set[int]):
        self.job, self.counted = job, counted
        self.chunk_no, self.total = 0, 0
        self.seen: dict[str, int] = {}
        self._start()

    def _start(self) -> None:
        self.buffer: list = []
        self.first_row_no: int | None = None
        self.duplicates: dict[str, int] = {}

    def add(self, row_no: int, cells, ticket_id) -> None:
        if self.first_row_no is None:
            self.first_row_no = row_no
        self.buffer.append(cells)
        if cells is not None:
            self.total += 1
            # Only UUIDs: repeated garbage is already rejected as "not a UUID".
            key = canonical_uuid(ticket_id)
            if key is not None:
                first = self.seen.setdefault(key, row_no)
                if first != row_no:
                    self.duplicates[str(row_no)] = first
        if len(self.buffer) >= self.job.chunk_size:
            self.flush()

    def flush(self) -> None:
        if not self.buffer:
            return
        from ingestion.tasks import import_chunk_task

        # `total` first, so processed + failed never exceeds it. Never lowered: a resumed or
        # redelivered split passes through smaller running totals, and a job whose split had
        # finished would look done at one of them while chunks are still due.
        ImportJob.objects.filter(pk=self.job.pk).update(total=Greatest("total", Value(self.total)))
        if self.chunk_no not in self.counted:
            args = (
                str(self.job.pk),
                self.chunk_no,
                self.first_row_no,
                encode_rows(self.buffer),
                self.duplicates or None,
            )
            # Celery's default argsrepr is a repr of the whole chunk, cut to 1 KB afterwards.
            argsrepr = f"({args[0]!r}, {args[1]}, {args[2]}, <{len(self.buffer)} rows>, ...)"
            import_chunk_task.apply_async(args, argsrepr=argsrepr)
        self.chunk_no += 1
        self._start()
