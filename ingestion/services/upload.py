"""Checking and storing an upload; the split is enqueued when its job commits."""

import hashlib
import os
import unicodedata
import uuid

import structlog
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction

from ingestion.models import ImportJob
from ingestion.xlsx_reader import WorkbookError, inspect_xlsx
from techsupport.exceptions import PayloadTooLarge, UnsupportedMedia
from techsupport.tasks import publish_on_commit

logger = structlog.get_logger(__name__)

MB = 1024 * 1024


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

    A file already on the storage's filesystem (`StoredUpload`) is moved into place, not copied.
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

    sha256 = getattr(file, "sha256", None)  # hashed while it was received (ingestion/upload_handler.py)
    if sha256 is None:
        digest = hashlib.sha256()
        for block in file.chunks():
            digest.update(block)
        file.seek(0)
        sha256 = digest.hexdigest()
    job_id = uuid.uuid4()
    stored_name = default_storage.save(f"imports/{job_id}.xlsx", file)
    with transaction.atomic():
        job = ImportJob.objects.create(
            id=job_id,
            uploaded_by=uploaded_by,
            filename=display_filename(filename),
            stored_name=stored_name,
            size_bytes=file.size,
            sha256=sha256,
            chunk_size=chunk_size or settings.INGESTION_CHUNK_SIZE,
        )
        # A broker outage at this instant must not turn the accepted upload into an error: the
        # job stays pending and `import_jobs_redrive` enqueues it later.
        publish_on_commit(split_task(), [job.id], per_row=True)
    logger.info("import_job_created", job_id=str(job.id), size_bytes=file.size, sha256=job.sha256)
    return job


def split_task():
    from ingestion.tasks import import_split_task

    return import_split_task
