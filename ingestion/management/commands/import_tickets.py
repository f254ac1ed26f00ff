import os
import sys
import time

from celery.signals import task_postrun
from django.conf import settings
from django.core.files import File
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from ingestion import services
from ingestion.models import FINISHED_STATUSES, ImportJob, ImportJobStatus
from ingestion.tasks import import_chunk_task
from techsupport.exceptions import AppError

POLL_INTERVAL_S = 0.5
ERRORS_SHOWN = 10
# A job still pending after this long has not been taken by any worker: say what to start.
NO_WORKER_HINT_AFTER_S = 10


class Command(BaseCommand):
    help = (
        "Imports an xlsx of ticket logs through the same pipeline as POST /api/files/upload: the job is "
        "queued for the workers (`make run`'s worker locally, the worker containers in production) and "
        "this command follows its progress."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="Path of the .xlsx workbook.")
        parser.add_argument("--chunk-size", type=int, default=None, help="Rows per chunk task (default: setting).")
        parser.add_argument(
            "--timeout", type=float, default=None, help="Give up waiting after this many seconds (broker mode)."
        )

    def handle(self, *args, file, chunk_size, timeout, **options):
        if chunk_size is not None and chunk_size < 1:
            raise CommandError("--chunk-size must be ≥ 1.")
        if not os.path.isfile(file):
            raise CommandError(f"No such file: {file}")
        show = options["verbosity"] > 0
        bar = tqdm(unit="row", disable=not show, file=sys.stderr, mininterval=0.3)
        job_holder: dict = {}

        def on_chunk_done(sender=None, kwargs=None, args=None, **_):
            # Eager mode: chunks run in this process; move the bar after each.
            job_id = job_holder.get("id") or (args[0] if args else (kwargs or {}).get("job_id"))
            if job_id:
                self._refresh_bar(bar, ImportJob.objects.get(pk=job_id))

        task_postrun.connect(on_chunk_done, sender=import_chunk_task, weak=False)
        try:
            with open(file, "rb") as handle:
                job = services.import_job_create(
                    file=File(handle, name=os.path.basename(file)),
                    filename=os.path.basename(file),
                    chunk_size=chunk_size,
                )
            job_holder["id"] = job.pk
            job = self._wait(job, bar, timeout)
        except AppError as exc:
            raise CommandError(f"{exc.message} ({exc.code})") from exc
        finally:
            task_postrun.disconnect(on_chunk_done, sender=import_chunk_task)
            bar.close()
        self._summary(job)
        if job.status == ImportJobStatus.FAILED:
            raise CommandError(f"The import failed: {job.error_message} ({job.error_code})")

    def _refresh_bar(self, bar, job: ImportJob) -> None:
        # While the split runs the total is only a floor: the bar counts against the sheet's height.
        total = job.total if job.total_final else max(job.total, job.rows_bound or 0)
        bar.total = total or None
        bar.n = job.processed + job.failed
        bar.refresh()

    def _wait(self, job: ImportJob, bar, timeout: float | None) -> ImportJob:
        started = time.monotonic()
        hinted = False
        job.refresh_from_db()
        while job.status not in FINISHED_STATUSES:
            if settings.CELERY_TASK_ALWAYS_EAGER:
                break  # eager (tests): everything already ran inside import_job_create
            waited = time.monotonic() - started
            if timeout is not None and waited > timeout:
                raise CommandError(f"Gave up after {timeout:.0f} s; job {job.pk} is still {job.status}.")
            if not hinted and waited > NO_WORKER_HINT_AFTER_S and job.status == ImportJobStatus.PENDING:
                hinted = True
                bar.write(
                    f"No worker has taken job {job.pk} yet: is `make run` (or `make worker`) running? "
                    "Waiting; Ctrl-C stops waiting, the job stays queued.",
                    file=sys.stderr,
                )
            time.sleep(POLL_INTERVAL_S)
            job.refresh_from_db()
            self._refresh_bar(bar, job)
        self._refresh_bar(bar, job)
        return job

    def _summary(self, job: ImportJob) -> None:
        seconds = job.duration_seconds or 0.0
        done = job.processed + job.failed
        rate = f"{done / seconds:,.0f} rows/s" if seconds and done else "—"
        style = {
            ImportJobStatus.COMPLETED: self.style.SUCCESS,
            ImportJobStatus.COMPLETED_WITH_ERRORS: self.style.WARNING,
        }.get(job.status, self.style.ERROR)
        self.stdout.write(style(f"Import {job.pk}: {job.status}"))
        self.stdout.write(
            f"  rows: {job.total} total, {job.processed} stored, {job.failed} rejected; {seconds:.2f} s, {rate}"
        )
        if job.error_message:
            self.stdout.write(f"  error ({job.error_code or 'unknown'}): {job.error_message}")
        errors = list(job.row_errors.order_by("row_no", "id")[:ERRORS_SHOWN])
        for error in errors:
            column = f" {error.column}" if error.column else ""
            self.stdout.write(f"  row {error.row_no}{column}: {error.message}")
        if job.failed > len(errors) and errors:
            self.stdout.write(f"  ... all rejected rows: GET /api/files/{job.pk}/errors?format=csv")
