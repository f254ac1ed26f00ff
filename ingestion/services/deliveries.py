"""Deliveries that kill their worker, counted in the database (see `TaskDelivery`)."""

import structlog
from django.db import connection
from django.utils import timezone

from ingestion.models import TaskDelivery

logger = structlog.get_logger(__name__)


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
