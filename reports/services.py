"""Writes of the reports app: the live projection of tickets into `ticket_logs`.

Transactional outbox (docs/adr/0005-reports-pipelines.md, DESIGN.md): the status change inserts
a `TicketLogProjection` row in its own transaction; on commit the delivery task is enqueued with
the row id (fast path); `ticket_log_projection_redrive` re-enqueues rows still undelivered after
REDRIVE_AFTER (slow path: a crash between commit and enqueue, the broker down at that moment,
MongoDB down for longer than the task's retries). A MongoDB outage never blocks a status change.
"""

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from pymongo.errors import DuplicateKeyError

from reports.models import TicketLogProjection
from techsupport.mongo import get_db
from techsupport.ticket_logs import COLLECTION, ticket_log_document
from tickets.models import Ticket

logger = logging.getLogger(__name__)

REDRIVE_AFTER = timedelta(minutes=5)
REDRIVE_BATCH = 500
LIVE_SOURCE = "live"


def _enqueue(projection_id: int) -> None:
    from reports.tasks import ticket_log_project_task

    ticket_log_project_task.delay(projection_id)


def ticket_log_projection_enqueue(*, ticket: Ticket) -> TicketLogProjection:
    """Records "project this ticket" in the caller's transaction and enqueues the delivery once
    it commits (nothing is enqueued if it rolls back). A failing enqueue (broker down) is logged,
    not raised: the row stays pending and the re-drive picks it up."""
    projection = TicketLogProjection.objects.create(ticket=ticket)
    transaction.on_commit(lambda: _enqueue(projection.pk), robust=True)
    return projection


ENQUEUE_CHUNK = 500


def _enqueue_many(projection_ids: list[int]) -> None:
    from reports.tasks import ticket_log_project_many_task

    # A message per chunk, not per row: publishing costs about a millisecond a message.
    for start in range(0, len(projection_ids), ENQUEUE_CHUNK):
        ticket_log_project_many_task.delay(projection_ids[start : start + ENQUEUE_CHUNK])


def ticket_log_projection_enqueue_many(*, tickets: list[Ticket]) -> list[TicketLogProjection]:
    """`ticket_log_projection_enqueue` for a batch (the SLA sweep): one INSERT for all rows and
    one on-commit callback that enqueues them; same guarantees."""
    if not tickets:
        return []
    projections = TicketLogProjection.objects.bulk_create([TicketLogProjection(ticket=ticket) for ticket in tickets])
    ids = [projection.pk for projection in projections]
    transaction.on_commit(lambda: _enqueue_many(ids), robust=True)
    return projections


def ticket_log_document_for(ticket: Ticket) -> dict:
    return ticket_log_document(
        ticket_id=ticket.pk,
        client_id=ticket.client_id,
        client_type=ticket.client.type,
        created_at=ticket.created_at,
        resolved_at=ticket.resolved_at,
        agent_id=ticket.agent_id,
        escalation_level=ticket.escalation_level,
        status=ticket.status,
        source=LIVE_SOURCE,
        updated_at=ticket.updated_at,
    )


def ticket_log_projection_deliver(*, projection_id: int, now: datetime | None = None) -> bool:
    """Upserts the ticket's *current* state into `ticket_logs` (replace by `_id` = ticket id, so
    a repeated or late delivery converges on the latest state) and marks the row delivered.
    Returns False when there was nothing to do (unknown or already delivered row). A MongoDB
    error is recorded on the row (attempts, last_error) and re-raised for the task to retry."""
    now = now or timezone.now()
    projection = TicketLogProjection.objects.select_related("ticket__client").filter(pk=projection_id).first()
    if projection is None or projection.status == TicketLogProjection.Status.DELIVERED:
        return False
    document = ticket_log_document_for(projection.ticket)
    try:
        # Only over an older (or equal) state: two deliveries for one ticket can overlap on
        # different workers, and the one that read the ticket first must not write last. When
        # the stored log is newer the filter matches nothing and the upsert's insert hits the
        # `_id`: that duplicate key means "already newer", so this delivery is done.
        get_db()[COLLECTION].replace_one(
            {"_id": document["_id"], "updatedAt": {"$lte": document["updatedAt"]}}, document, upsert=True
        )
    except DuplicateKeyError:
        pass
    except Exception as exc:
        TicketLogProjection.objects.filter(pk=projection_id).update(
            attempts=F("attempts") + 1, last_error=f"{type(exc).__name__}: {exc}"[:2000], updated_at=now
        )
        raise
    TicketLogProjection.objects.filter(pk=projection_id).update(
        status=TicketLogProjection.Status.DELIVERED,
        attempts=F("attempts") + 1,
        last_error="",
        delivered_at=now,
        updated_at=now,
    )
    return True


def ticket_log_projection_fail(*, projection_id: int) -> None:
    """The task gave up (retries exhausted): `failed` until the re-drive tries again."""
    TicketLogProjection.objects.filter(pk=projection_id).exclude(status=TicketLogProjection.Status.DELIVERED).update(
        status=TicketLogProjection.Status.FAILED, updated_at=timezone.now()
    )


def ticket_log_projection_redrive(*, now: datetime | None = None) -> int:
    """Re-enqueues up to REDRIVE_BATCH rows not delivered and untouched for REDRIVE_AFTER;
    returns how many. Touching `updated_at` keeps the next run from re-enqueuing them again
    while they wait in the queue."""
    now = now or timezone.now()
    ids = list(
        TicketLogProjection.objects.exclude(status=TicketLogProjection.Status.DELIVERED)
        .filter(updated_at__lte=now - REDRIVE_AFTER)
        .order_by("updated_at")
        .values_list("pk", flat=True)[:REDRIVE_BATCH]
    )
    if not ids:
        return 0
    TicketLogProjection.objects.filter(pk__in=ids).update(status=TicketLogProjection.Status.PENDING, updated_at=now)
    for projection_id in ids:
        try:
            _enqueue(projection_id)
        except Exception:  # broker down: the rows stay pending for the next run
            logger.exception("could not enqueue a ticket log projection", extra={"projection_id": projection_id})
            break
    return len(ids)
