"""The slow path that makes sure every accepted upload finishes."""

from datetime import datetime, timedelta

import structlog
from django.db.models import Max
from django.db.models.functions import Coalesce
from django.utils import timezone

from ingestion.models import ImportJob, ImportJobStatus
from ingestion.services.upload import split_task
from techsupport.tasks import publish

logger = structlog.get_logger(__name__)


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
    publish(split_task(), pending, per_row=True)
    publish(split_task(), stalled, per_row=True, kwargs={"resume": True})
    if pending or stalled:
        logger.warning("import_jobs_redriven", pending=len(pending), stalled=len(stalled))
    return len(pending) + len(stalled)
