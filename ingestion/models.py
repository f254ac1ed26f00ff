"""Import jobs, their counted chunks, rejected rows and dead letters (PostgreSQL).

The documents themselves go to MongoDB (`ticket_logs`); these tables are the bookkeeping that
makes the counters exact under redelivery: see docs/adr/0004-ingestion-exactly-once-and-dlq.md.
"""

import uuid

from django.conf import settings
from django.db import models


class ImportJobStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PROCESSING = "processing", "Processing"
    COMPLETED = "completed", "Completed"
    COMPLETED_WITH_ERRORS = "completed_with_errors", "Completed with errors"
    FAILED = "failed", "Failed"


FINISHED_STATUSES = frozenset(
    {ImportJobStatus.COMPLETED, ImportJobStatus.COMPLETED_WITH_ERRORS, ImportJobStatus.FAILED}
)


class ImportJob(models.Model):
    """One uploaded workbook. `id` is the API's `processId`.

    `total` is the number of non-blank data rows the split has enqueued so far; `chunk_count` stays
    NULL until the split has enqueued the last chunk, so "finished" is
    `chunk_count IS NOT NULL AND processed + failed = total`. `rows_bound` (the sheet's height
    less its header, known before the first chunk) never falls below the final total, so progress
    measured against it while the split runs never goes backwards.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="import_jobs"
    )
    filename = models.CharField(max_length=255, help_text="Sanitised client file name, for display only.")
    stored_name = models.CharField(max_length=255, help_text="Name in Django's default storage.")
    size_bytes = models.BigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, db_index=True)
    status = models.CharField(max_length=32, choices=ImportJobStatus.choices, default=ImportJobStatus.PENDING)
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    chunk_count = models.PositiveIntegerField(null=True, blank=True)
    # Fixed when the job is created, so a resumed split cuts the same chunks (chunk numbers are
    # the exactly-once keys).
    chunk_size = models.PositiveIntegerField(default=1000)
    error_message = models.TextField(blank=True, default="")
    # Why a failed job failed, for clients to switch on: `missing_columns`, `empty_sheet`,
    # `too_many_rows`, `sheet_too_wide`, `sheet_too_large`, `unreadable_workbook`, `worker_crashed`...
    error_code = models.CharField(max_length=64, blank=True, default="")
    rows_bound = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.filename} ({self.status})"

    @property
    def total_final(self) -> bool:
        """Whether `total` can still grow (the split is still enqueuing chunks)."""
        return self.chunk_count is not None or self.status in FINISHED_STATUSES

    @property
    def progress(self) -> float:
        """0..100, never decreasing; 100 once finished (a failed job has nothing left to do).
        While the split runs it is measured against `rows_bound`, which the total never exceeds."""
        if self.status in FINISHED_STATUSES:
            return 100.0
        denominator = self.total if self.total_final else max(self.total, self.rows_bound or 0)
        if not denominator:
            return 0.0
        return round(min(100.0, 100.0 * (self.processed + self.failed) / denominator), 2)

    @property
    def duration_seconds(self) -> float | None:
        if not self.started_at:
            return None
        end = self.finished_at
        if end is None:
            from django.utils import timezone

            end = timezone.now()
        return (end - self.started_at).total_seconds()


class ImportChunk(models.Model):
    """A chunk that has been counted. The unique (job, chunk_no) row is the exactly-once guard:
    whichever delivery inserts it first counts the chunk; later deliveries find it and stop."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="chunks")
    chunk_no = models.PositiveIntegerField()
    first_row_no = models.PositiveIntegerField()
    row_count = models.PositiveIntegerField()
    processed = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    dead_lettered = models.BooleanField(default=False)
    counted_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "chunk_no"], name="ingestion_chunk_once")]

    def __str__(self):
        return f"{self.job_id} #{self.chunk_no}"


class ImportRowError(models.Model):
    """A rejected row (one record per offending cell; `column` is empty when the whole row
    failed, e.g. its chunk went to the dead-letter queue)."""

    VALUE_MAX = 200

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="row_errors")
    row_no = models.PositiveIntegerField()
    column = models.CharField(max_length=64, blank=True, default="")
    value = models.CharField(max_length=VALUE_MAX, blank=True, default="")
    message = models.CharField(max_length=500)

    class Meta:
        indexes = [models.Index(fields=["job", "row_no"], name="ingestion_rowerr_job_row")]
        ordering = ["row_no", "id"]

    def __str__(self):
        return f"row {self.row_no} {self.column}: {self.message}"


class DeadLetter(models.Model):
    """A chunk that still failed after its retries. `payload` holds the chunk task's name and
    arguments, so a replay re-enqueues exactly the same work."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="dead_letters")
    chunk_no = models.PositiveIntegerField()
    task_name = models.CharField(max_length=200)
    payload = models.JSONField()
    error = models.TextField()
    attempts = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["job", "chunk_no"], name="ingestion_deadletter_once")]

    def __str__(self):
        return f"dead letter {self.job_id} #{self.chunk_no}"

    @property
    def row_count(self) -> int:
        args = self.payload.get("args") or []
        return len(args[3]) if len(args) > 3 else 0

    @property
    def first_row_no(self) -> int | None:
        args = self.payload.get("args") or []
        return args[2] if len(args) > 2 else None


class TaskDelivery(models.Model):
    """A split or chunk message being worked on: inserted (or incremented) in its own committed
    transaction when a delivery starts, deleted when that delivery ends in Python — returning,
    raising or retrying. A row that survives means the process died mid-task (killed, out of
    memory, a native crash); `deliveries` counts how many times in a row that happened."""

    task_id = models.CharField(primary_key=True, max_length=255)
    task_name = models.CharField(max_length=200)
    deliveries = models.PositiveIntegerField(default=1)
    first_started_at = models.DateTimeField(auto_now_add=True)
    last_started_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"{self.task_name} {self.task_id} x{self.deliveries}"
