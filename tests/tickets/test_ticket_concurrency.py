"""Two changes to one ticket at the same moment: exactly one wins, the other gets 409.
Real PostgreSQL row locks and real threads (each thread has its own connection)."""

import threading

import pytest
from django.db import connection, transaction

from techsupport.exceptions import AppError
from tests.accounts.factories import UserFactory
from tests.conftest import client_for
from tests.tickets.factories import TicketFactory
from tickets import services
from tickets.models import Ticket, TicketEvent

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _in_thread(target):
    def run():
        try:
            target()
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_a_change_while_another_holds_the_ticket_is_409_concurrent_update():
    supervisor = UserFactory(role="SUPERVISOR")
    ticket = TicketFactory()
    locked, release = threading.Event(), threading.Event()

    def hold_lock():
        with transaction.atomic():
            Ticket.objects.select_for_update().get(pk=ticket.pk)
            locked.set()
            release.wait(timeout=10)

    holder = _in_thread(hold_lock)
    assert locked.wait(timeout=10)
    try:
        response = client_for(supervisor).patch(
            f"/api/tickets/{ticket.pk}/status", {"status": "IN_PROGRESS"}, format="json"
        )
        with pytest.raises(AppError) as caught:
            services.ticket_assign(ticket=ticket, agent_id=UserFactory(role="AGENT").pk, actor=supervisor)
    finally:
        release.set()
        holder.join()

    assert (response.status_code, response.json()["code"]) == (409, "concurrent_update")
    assert (caught.value.status, caught.value.code) == (409, "concurrent_update")
    assert Ticket.objects.get(pk=ticket.pk).status == "OPEN"
    assert not TicketEvent.objects.filter(ticket=ticket).exists()


# Pairs where the loser is refused whichever request comes first, and whether or not the two
# overlap in time (lock held → concurrent_update; already moved → invalid_transition).
@pytest.mark.parametrize(
    ("start", "targets"), [("OPEN", ("IN_PROGRESS", "IN_PROGRESS")), ("IN_PROGRESS", ("RESOLVED", "ESCALATED"))]
)
def test_two_simultaneous_requests_exactly_one_wins(start, targets):
    supervisor = UserFactory(role="SUPERVISOR")
    ticket = TicketFactory(status=start)
    barrier = threading.Barrier(len(targets))
    results = []

    def change(to_status):
        api = client_for(supervisor)
        barrier.wait(timeout=10)
        response = api.patch(f"/api/tickets/{ticket.pk}/status", {"status": to_status}, format="json")
        results.append((response.status_code, response.json().get("code")))

    threads = [_in_thread(lambda s=status: change(s)) for status in targets]
    for thread in threads:
        thread.join(timeout=20)

    assert sorted(code for code, _ in results) == [200, 409]
    loser = next(code for status, code in results if status == 409)
    assert loser in ("concurrent_update", "invalid_transition")
    assert TicketEvent.objects.filter(ticket=ticket).count() == 1
