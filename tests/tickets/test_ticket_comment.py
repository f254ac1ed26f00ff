import pytest
from django.utils import timezone

from techsupport.exceptions import NotFound, ValidationFailed
from tests.tickets.factories import TicketFactory
from tickets.models import Ticket, TicketEvent
from tickets.services import COMMENT_MAX_LENGTH, ticket_change_status, ticket_comment

pytestmark = pytest.mark.django_db


def test_a_comment_is_an_event_and_changes_nothing_else(supervisor):
    ticket = TicketFactory(status="OPEN")
    ticket_change_status(ticket=ticket, to_status="IN_PROGRESS", actor=supervisor)
    before = Ticket.objects.get(pk=ticket.pk)

    event = ticket_comment(ticket=ticket, text="  Waiting for the client.  ", actor=supervisor)

    assert (event.kind, event.actor, event.data) == ("commented", supervisor, {"text": "Waiting for the client."})
    # The status recorded is the ticket's current one, not the stale object's.
    assert (event.from_status, event.to_status) == ("IN_PROGRESS", "IN_PROGRESS")
    after = Ticket.objects.get(pk=ticket.pk)
    assert (after.status, after.updated_at, after.agent_id) == (before.status, before.updated_at, before.agent_id)
    assert list(TicketEvent.objects.filter(ticket=ticket).values_list("kind", flat=True)) == [
        "status_changed",
        "commented",
    ]


@pytest.mark.parametrize("text", ["", "   \n ", "x" * (COMMENT_MAX_LENGTH + 1)])
def test_blank_or_overlong_comments_are_refused(supervisor, text):
    ticket = TicketFactory()

    with pytest.raises(ValidationFailed) as refused:
        ticket_comment(ticket=ticket, text=text, actor=supervisor)

    assert (refused.value.status, refused.value.code) == (400, "invalid_comment")
    assert not TicketEvent.objects.filter(ticket=ticket).exists()


def test_the_longest_comment_is_accepted(supervisor):
    event = ticket_comment(ticket=TicketFactory(), text="x" * COMMENT_MAX_LENGTH, actor=supervisor)

    assert len(event.data["text"]) == COMMENT_MAX_LENGTH


def test_a_deleted_ticket_takes_no_comment(supervisor):
    ticket = TicketFactory(deleted_at=timezone.now())

    with pytest.raises(NotFound) as refused:
        ticket_comment(ticket=ticket, text="Too late", actor=supervisor)

    assert refused.value.code == "ticket_not_found"
