"""An import job's progress as people watch it: percentage, rows per second, counts.

One function feeds both the admin pages (their first drawing) and the JSON the pages poll, so
the figures a supervisor sees never depend on which of the two drew them.
"""

from ingestion.models import FINISHED_STATUSES, ImportJob


def rows_per_second(job: ImportJob) -> float | None:
    seconds = job.duration_seconds
    done = job.processed + job.failed
    if not seconds or not done:
        return None
    return done / seconds


def import_job_progress(job: ImportJob) -> dict:
    """The live figures of one job, as texts ready to show and as numbers."""
    rate = rows_per_second(job)
    seconds = job.duration_seconds
    return {
        "id": str(job.pk),
        "status": job.status,
        "finished": job.status in FINISHED_STATUSES,
        "progress": job.progress,
        "processed": job.processed,
        "failed": job.failed,
        "total": job.total,
        "rowsPerSecond": None if rate is None else round(rate, 1),
        "text": {
            "status": job.get_status_display(),
            "progress": f"{job.progress:.1f} %",
            "processed": f"{job.processed:,}",
            "failed": f"{job.failed:,}",
            "total": f"{job.total:,}",
            "rows_per_second": "—" if rate is None else f"{rate:,.0f} rows/s",
            "duration": "—" if seconds is None else f"{seconds:.1f} s",
        },
    }
