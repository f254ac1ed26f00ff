"""The live projection of tickets into `ticket_logs` through the outbox (reports/services.py)."""

from datetime import timedelta

import pytest
from django.utils import timezone
from pymongo.errors import ServerSelectionTimeoutError

from reports import services
from reports.models import TicketLogProjection
from reports.services import ticket_log_document_for
from reports.tasks import MAX_RETRIES, ticket_log_project_task, ticket_log_redrive_task
from tests.accounts.factories import UserFactory
from tests.tickets.factories import ClientFactory, TicketFactory
from tickets.models import Ticket
from tickets.services import ticket_change_status
from tickets.states import ClientType, TicketStatus

pytestmark = pytest.mark.django_db
Status = TicketLogProjection.Status


@pytest.fixture
def ticket():
    agent = UserFactory(role="AGENT", level=2)
    created = timezone.now() - timedelta(minutes=90)
    return TicketFactory(
        client=ClientFactory(type=ClientType.VIP), agent=agent, status=TicketStatus.IN_PROGRESS, created_at=created
    )


def logs(mongo_db) -> list[dict]:
    return list(mongo_db["ticket_logs"].find())


def test_resolving_projects_the_ticket_after_commit(ticket, mongo_db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        resolved = ticket_change_status(ticket=ticket, to_status=TicketStatus.RESOLVED, actor=None)

    assert len(callbacks) == 2  # the projection's enqueue, and the transition metric
    projection = TicketLogProjection.objects.get()
    assert (projection.status, projection.attempts, projection.last_error) == (Status.DELIVERED, 1, "")
    assert projection.delivered_at is not None
    [document] = logs(mongo_db)
    assert document["_id"] == str(ticket.pk)
    assert document["source"] == "live"
    assert document["status"] == "RESOLVED"
    assert document["clientType"] == "VIP"
    assert document["agentId"] == str(ticket.agent_id)
    assert document["resolutionMinutes"] == resolved.resolution_time_min
    assert document["importJobId"] is None


def test_the_log_carries_the_due_instants_and_the_first_response(mongo_db, django_capture_on_commit_callbacks):
    # A ticket with a first-response target, resolved by its agent: that person's change is the
    # first response, and the log carries it next to both due instants (sla-compliance reads them).
    agent = UserFactory(role="AGENT", level=2)
    created = (timezone.now() - timedelta(minutes=90)).replace(microsecond=0)  # BSON keeps milliseconds
    ticket = TicketFactory(
        client=ClientFactory(type=ClientType.VIP),
        agent=agent,
        status=TicketStatus.IN_PROGRESS,
        created_at=created,
        first_response_due_at=created + timedelta(minutes=15),
    )
    resolved_at = created + timedelta(minutes=80)

    with django_capture_on_commit_callbacks(execute=True):
        resolved = ticket_change_status(ticket=ticket, to_status=TicketStatus.RESOLVED, actor=agent, now=resolved_at)

    [document] = logs(mongo_db)
    assert resolved.first_responded_at == resolved_at
    assert document["slaDueAt"] == ticket.sla_due_at
    assert document["firstResponseDueAt"] == created + timedelta(minutes=15)
    assert document["firstRespondedAt"] == resolved_at


def test_a_log_without_a_first_response_carries_nulls(ticket, mongo_db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        ticket_change_status(ticket=ticket, to_status=TicketStatus.RESOLVED, actor=None)  # the system: no response

    [document] = logs(mongo_db)
    assert document["slaDueAt"] is not None
    assert (document["firstResponseDueAt"], document["firstRespondedAt"]) == (None, None)


def test_nothing_is_enqueued_before_commit(ticket, mongo_db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        ticket_change_status(ticket=ticket, to_status=TicketStatus.RESOLVED, actor=None)

    assert len(callbacks) == 2  # the projection's enqueue, and the transition metric
    assert TicketLogProjection.objects.get().status == Status.PENDING
    assert logs(mongo_db) == []


def test_other_transitions_are_not_projected(mongo_db, django_capture_on_commit_callbacks):
    ticket = TicketFactory()

    with django_capture_on_commit_callbacks(execute=True):
        ticket_change_status(ticket=ticket, to_status=TicketStatus.IN_PROGRESS, actor=None)

    assert TicketLogProjection.objects.count() == 0
    assert logs(mongo_db) == []


def test_escalate_then_resolve_keeps_one_document_with_the_latest_state(mongo_db, django_capture_on_commit_callbacks):
    ticket = TicketFactory()

    with django_capture_on_commit_callbacks(execute=True):
        ticket_change_status(ticket=ticket, to_status=TicketStatus.ESCALATED, actor=None)
    assert [(d["status"], d["escalationLevel"]) for d in logs(mongo_db)] == [("ESCALATED", 1)]

    with django_capture_on_commit_callbacks(execute=True):
        ticket_change_status(ticket=ticket, to_status=TicketStatus.IN_PROGRESS, actor=None)
        ticket_change_status(ticket=ticket, to_status=TicketStatus.RESOLVED, actor=None)
        ticket_change_status(ticket=ticket, to_status=TicketStatus.CLOSED, actor=None)

    assert [(d["status"], d["escalationLevel"]) for d in logs(mongo_db)] == [("CLOSED", 1)]
    assert list(TicketLogProjection.objects.values_list("status", flat=True)) == [Status.DELIVERED] * 3


def test_delivery_is_idempotent_and_reads_the_latest_state(ticket, mongo_db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        ticket_change_status(ticket=ticket, to_status=TicketStatus.RESOLVED, actor=None)
        ticket_change_status(ticket=ticket, to_status=TicketStatus.CLOSED, actor=None)
    first, second = TicketLogProjection.objects.order_by("id")

    assert services.ticket_log_projection_deliver(projection_id=first.pk) is True
    assert services.ticket_log_projection_deliver(projection_id=first.pk) is False
    assert services.ticket_log_projection_deliver(projection_id=second.pk) is True
    assert [d["status"] for d in logs(mongo_db)] == ["CLOSED"]  # already the latest at the first delivery


def test_a_delivery_that_read_an_older_state_never_overwrites_a_newer_one(
    ticket, mongo_db, monkeypatch, django_capture_on_commit_callbacks
):
    # Given two deliveries for one ticket overlapping on two workers: the first read the ticket
    # while it was RESOLVED, the second read it CLOSED and wrote first
    with django_capture_on_commit_callbacks(execute=False):
        ticket_change_status(ticket=ticket, to_status=TicketStatus.RESOLVED, actor=None)
    stale = Ticket.objects.select_related("client").get(pk=ticket.pk)
    with django_capture_on_commit_callbacks(execute=False):
        ticket_change_status(ticket=ticket, to_status=TicketStatus.CLOSED, actor=None)
    first, second = TicketLogProjection.objects.order_by("id")
    assert services.ticket_log_projection_deliver(projection_id=second.pk) is True

    # When the first one writes last
    monkeypatch.setattr(services, "ticket_log_document_for", lambda _: ticket_log_document_for(stale))
    assert services.ticket_log_projection_deliver(projection_id=first.pk) is True

    # then the log keeps the newer state and both rows are delivered
    assert [d["status"] for d in logs(mongo_db)] == ["CLOSED"]
    assert list(TicketLogProjection.objects.values_list("status", flat=True)) == [Status.DELIVERED] * 2


class _DownCollection:
    def replace_one(self, *args, **kwargs):
        raise ServerSelectionTimeoutError("mongo is down")


class _DownDb:
    def __getitem__(self, name):
        return _DownCollection()


def test_mongo_outage_never_blocks_the_status_change_and_redrive_delivers_later(
    ticket, mongo_db, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(services, "get_db", lambda: _DownDb())

    with django_capture_on_commit_callbacks(execute=True):
        ticket_change_status(ticket=ticket, to_status=TicketStatus.RESOLVED, actor=None)

    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.RESOLVED  # committed despite MongoDB being down
    projection = TicketLogProjection.objects.get()
    assert projection.status == Status.FAILED  # retried MAX_RETRIES times (eagerly here), then gave up
    assert projection.attempts == MAX_RETRIES + 1
    assert projection.last_error == "ServerSelectionTimeoutError: mongo is down"

    monkeypatch.undo()
    assert services.ticket_log_projection_redrive() == 0  # too recent: its task may still be retrying
    later = timezone.now() + services.REDRIVE_AFTER + timedelta(seconds=1)
    assert services.ticket_log_projection_redrive(now=later) == 1

    projection.refresh_from_db()
    assert (projection.status, projection.attempts) == (Status.DELIVERED, MAX_RETRIES + 2)
    assert [d["status"] for d in logs(mongo_db)] == ["RESOLVED"]


def test_broker_down_at_enqueue_leaves_the_row_pending(
    ticket, mongo_db, monkeypatch, django_capture_on_commit_callbacks
):
    def broker_down(*args, **kwargs):
        raise ConnectionError("redis is down")

    monkeypatch.setattr(ticket_log_project_task, "apply_async", broker_down)

    with django_capture_on_commit_callbacks(execute=True):
        ticket_change_status(ticket=ticket, to_status=TicketStatus.RESOLVED, actor=None)

    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.RESOLVED
    assert TicketLogProjection.objects.get().status == Status.PENDING
    assert logs(mongo_db) == []


def test_redrive_task_picks_only_stale_undelivered_rows(ticket, mongo_db):
    stale = timezone.now() - services.REDRIVE_AFTER - timedelta(minutes=1)
    old_pending = TicketLogProjection.objects.create(ticket=ticket, updated_at=stale)
    fresh_pending = TicketLogProjection.objects.create(ticket=ticket)
    delivered = TicketLogProjection.objects.create(ticket=ticket, status=Status.DELIVERED, updated_at=stale)

    assert ticket_log_redrive_task.apply().get() == 1

    statuses = dict(TicketLogProjection.objects.values_list("pk", "status"))
    assert statuses == {
        old_pending.pk: Status.DELIVERED,
        fresh_pending.pk: Status.PENDING,
        delivered.pk: Status.DELIVERED,
    }
    assert len(logs(mongo_db)) == 1
