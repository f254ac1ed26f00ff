"""Auto-assignment under concurrency, on real PostgreSQL row locks and real threads (each thread
has its own connection): tickets created at the same moment never push an agent past
AUTO_ASSIGN_MAX_OPEN_PER_AGENT."""

import threading
from collections import Counter

import pytest
from django.db import transaction

from accounts.roles import Role
from tests.accounts.factories import UserFactory
from tests.threads import in_thread
from tests.tickets.factories import ClientFactory, auto_assign_on
from tickets import services
from tickets.models import Ticket, TicketEvent
from tickets.states import ClientType

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _create(client):
    return services.ticket_create(title="Simultaneous", description="At once.", client=client, actor=None)


@pytest.mark.parametrize(("agents", "cap"), [(1, 1), (2, 1), (3, 2)])
def test_simultaneous_creations_never_push_an_agent_past_the_cap(settings, agents, cap):
    settings.AUTO_ASSIGN_MAX_OPEN_PER_AGENT = cap
    auto_assign_on(ClientType.NORMAL)
    for n in range(agents):
        UserFactory(role=Role.AGENT, email=f"racer{n}@example.com")
    client = ClientFactory(type=ClientType.NORMAL)
    creators = agents * cap + 3  # more tickets than free slots
    barrier = threading.Barrier(creators)
    errors = []

    def create():
        try:
            barrier.wait(timeout=10)
            _create(client)
        except Exception as exc:
            errors.append(exc)

    threads = [in_thread(create) for _ in range(creators)]
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    load = Counter(Ticket.objects.filter(agent__isnull=False).values_list("agent_id", flat=True))
    assert Ticket.objects.count() == creators
    assert max(load.values()) <= cap
    # Every ticket has its decision, an agent or none, recorded.
    decisions = TicketEvent.objects.filter(kind="assigned", data__auto=True)
    assert decisions.count() == creators
    assert decisions.exclude(data__toAgentId=None).count() == sum(load.values())
    reasons = set(decisions.filter(data__toAgentId=None).values_list("data__reason", flat=True))
    assert reasons <= {"no_eligible_agent", "agents_busy"}


def test_the_last_slot_held_by_an_uncommitted_creation_is_not_taken_twice(settings):
    # Deterministic interleaving: one creation takes the agent's last slot and stays open; a
    # second one meanwhile passes the locked agent by (never waits), and after the first commits
    # the agent is at the cap.
    settings.AUTO_ASSIGN_MAX_OPEN_PER_AGENT = 1
    auto_assign_on(ClientType.NORMAL)
    agent = UserFactory(role=Role.AGENT, email="last-slot@example.com")
    client = ClientFactory(type=ClientType.NORMAL)
    assigned, release, first = threading.Event(), threading.Event(), []

    def hold():
        with transaction.atomic():
            first.append(_create(client))
            assigned.set()
            release.wait(timeout=20)

    holder = in_thread(hold)
    assert assigned.wait(timeout=10)
    try:
        meanwhile = _create(client)
    finally:
        release.set()
        holder.join()
    afterwards = _create(client)

    assert first[0].agent_id == agent.pk
    assert Ticket.objects.get(pk=meanwhile.pk).agent_id is None
    assert Ticket.objects.get(pk=afterwards.pk).agent_id is None
    assert Ticket.objects.filter(agent=agent).count() == 1
    reasons = TicketEvent.objects.filter(ticket__in=[meanwhile, afterwards], kind="assigned").values_list(
        "data__reason", "data__candidates"
    )
    # Meanwhile the agent was below the cap (a candidate) but locked; afterwards, at the cap.
    assert sorted(reasons) == [("agents_busy", 1), ("no_eligible_agent", 0)]
