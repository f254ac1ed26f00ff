"""Writes of the reports app: the live projection of tickets into `ticket_logs`.

Transactional outbox (docs/adr/0005-reports-pipelines.md, docs/design.md), with the project's kit
(techsupport/tasks.py): the tickets app announces a change that resolved, closed or escalated
tickets (tickets/signals.py); in that transaction `ticket_log_projections_record` inserts a
`TicketLogProjection` row per ticket and, once it commits, the delivery task is enqueued with the
row ids (fast path); `ticket_log_projection_redrive` re-enqueues rows still undelivered after
REDRIVE_AFTER (slow path: a crash between commit and enqueue, the broker down at that moment,
MongoDB down for longer than the task's retries). A MongoDB outage never blocks a status change.
"""

import contextlib
import logging
from datetime import datetime, timedelta

from django.db import connection
from django.db.models import F
from django.utils import timezone
from pymongo.errors import DuplicateKeyError, PyMongoError

from reports.models import TicketLogProjection
from techsupport.mongo import get_db
from techsupport.tasks import publish_on_commit, redrive
from techsupport.ticket_logs import COLLECTION, ticket_log_document
from tickets.selectors import tickets_by_id

logger = logging.getLogger(__name__)

REDRIVE_AFTER = timedelta(minutes=5)
REDRIVE_BATCH = 500
LIVE_SOURCE = "live"


def _project_task():
    from reports.tasks import ticket_log_project_task

    return ticket_log_project_task


def ticket_log_projections_record(*, tickets: list) -> list[int]:
    """Records "project these tickets" in the caller's transaction (one INSERT) and enqueues the
    deliveries once it commits — nothing if it rolls back. A failing enqueue (broker down) is
    logged, not raised: the rows stay pending and the re-drive picks them up. Returns the new
    rows' ids."""
    if not tickets:
        return []
    ids = _projections_insert([ticket.pk for ticket in tickets], timezone.now())
    publish_on_commit(_project_task(), ids)
    return ids


def _projections_insert(ticket_ids: list, now: datetime) -> list[int]:
    """One INSERT of pending rows. On PostgreSQL from an array of ids (an SLA sweep's batch
    escalates thousands of tickets at once: model instances cost more than the insert)."""
    if connection.vendor != "postgresql":
        rows = [TicketLogProjection(ticket_id=ticket_id, created_at=now, updated_at=now) for ticket_id in ticket_ids]
        return [row.pk for row in TicketLogProjection.objects.bulk_create(rows)]
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO reports_ticketlogprojection (ticket_id, status, attempts, last_error, created_at, updated_at)"
            " SELECT ticket_id, %s, 0, '', %s, %s FROM unnest(%s::uuid[]) WITH ORDINALITY AS t(ticket_id, n)"
            " ORDER BY n RETURNING id",
            [TicketLogProjection.Status.PENDING, now, now, "{" + ",".join(map(str, ticket_ids)) + "}"],
        )
        return [row[0] for row in cursor.fetchall()]


def ticket_log_document_for(ticket) -> dict:
    return ticket_log_document(
        ticket_id=ticket.pk,
        client_id=ticket.client_id,
        client_type=ticket.client_type,
        created_at=ticket.created_at,
        resolved_at=ticket.resolved_at,
        agent_id=ticket.agent_id,
        escalation_level=ticket.escalation_level,
        status=ticket.status,
        source=LIVE_SOURCE,
        updated_at=ticket.updated_at,
        sla_due_at=ticket.sla_due_at,
        first_response_due_at=ticket.first_response_due_at,
        first_responded_at=ticket.first_responded_at,
    )


def ticket_log_projection_deliver(*, projection_id: int, now: datetime | None = None) -> bool:
    """Upserts the ticket's *current* state into `ticket_logs` (replace by `_id` = ticket id, so
    a repeated or late delivery converges on the latest state) and marks the row delivered.
    Returns False when there was nothing to do (unknown or already delivered row). A MongoDB
    error is recorded on the row (attempts, last_error) and re-raised."""
    undelivered = TicketLogProjection.objects.filter(pk=projection_id).exclude(
        status=TicketLogProjection.Status.DELIVERED
    )
    if not undelivered.exists():
        return False
    ticket_log_projections_deliver(projection_ids=[projection_id], now=now, raise_errors=True)
    return True


def ticket_log_projections_deliver(*, projection_ids: list[int], now=None, raise_errors: bool = False) -> list[int]:
    """Delivers the rows (see `ticket_log_projection_deliver`) and returns the ids still pending:
    at the first MongoDB error (recorded on its row) it stops — the store is likely down for the
    rest too — and returns that id and the ones after it."""
    now = now or timezone.now()
    projections = TicketLogProjection.objects.filter(pk__in=projection_ids).exclude(
        status=TicketLogProjection.Status.DELIVERED
    )
    ticket_of = {projection.pk: projection.ticket_id for projection in projections}
    tickets = tickets_by_id(set(ticket_of.values()))
    for index, projection_id in enumerate(projection_ids):
        if projection_id not in ticket_of:
            continue
        try:
            _upsert(ticket_log_document_for(tickets[ticket_of[projection_id]]))
        except PyMongoError as exc:
            TicketLogProjection.objects.filter(pk=projection_id).update(
                attempts=F("attempts") + 1, last_error=f"{type(exc).__name__}: {exc}"[:2000], updated_at=now
            )
            if raise_errors:
                raise
            return list(projection_ids[index:])
        TicketLogProjection.objects.filter(pk=projection_id).update(
            status=TicketLogProjection.Status.DELIVERED,
            attempts=F("attempts") + 1,
            last_error="",
            delivered_at=now,
            updated_at=now,
        )
    return []


def _upsert(document: dict) -> None:
    """Only over an older (or equal) state: two deliveries for one ticket can overlap on different
    workers, and the one that read the ticket first must not write last. When the stored log is
    newer the filter matches nothing and the upsert's insert hits the `_id`: that duplicate key
    means "already newer", so the delivery is done."""
    with contextlib.suppress(DuplicateKeyError):
        get_db()[COLLECTION].replace_one(
            {"_id": document["_id"], "updatedAt": {"$lte": document["updatedAt"]}}, document, upsert=True
        )


def ticket_log_projections_fail(*, projection_ids: list[int]) -> None:
    """The task gave up (retries exhausted): `failed` until the re-drive tries again."""
    TicketLogProjection.objects.filter(pk__in=projection_ids).exclude(
        status=TicketLogProjection.Status.DELIVERED
    ).update(status=TicketLogProjection.Status.FAILED, updated_at=timezone.now())


def ticket_log_projection_redrive(*, now: datetime | None = None) -> int:
    """Re-enqueues up to REDRIVE_BATCH rows not delivered and untouched for REDRIVE_AFTER;
    returns how many. Touching `updated_at` keeps the next run from re-enqueuing them again
    while they wait in the queue."""
    now = now or timezone.now()
    return redrive(
        TicketLogProjection.objects.exclude(status=TicketLogProjection.Status.DELIVERED),
        task=_project_task(),
        after=REDRIVE_AFTER,
        now=now,
        batch=REDRIVE_BATCH,
        touch={"status": TicketLogProjection.Status.PENDING, "updated_at": now},
    )
