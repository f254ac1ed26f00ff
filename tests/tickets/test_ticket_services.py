from datetime import UTC, datetime, timedelta
from itertools import product

import pytest

from accounts.roles import Role
from techsupport.exceptions import AppError
from tests.accounts.factories import UserFactory
from tests.tickets.factories import ClientFactory, TicketFactory
from tickets import services
from tickets.models import SlaPolicy, Ticket, TicketEvent
from tickets.states import TRANSITIONS, ClientType, TicketStatus

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ALL_PAIRS = list(product(TicketStatus.values, TicketStatus.values))
LEGAL = {(src, dst) for src, targets in TRANSITIONS.items() for dst in targets}


def test_transition_table_matches_the_contract():
    assert {
        ("OPEN", "IN_PROGRESS"),
        ("OPEN", "ESCALATED"),
        ("IN_PROGRESS", "RESOLVED"),
        ("IN_PROGRESS", "ESCALATED"),
        ("ESCALATED", "IN_PROGRESS"),
        ("RESOLVED", "CLOSED"),
        ("RESOLVED", "IN_PROGRESS"),
        ("IN_PROGRESS", "WAITING_CUSTOMER"),
        ("ESCALATED", "WAITING_CUSTOMER"),
        ("WAITING_CUSTOMER", "IN_PROGRESS"),
        ("WAITING_CUSTOMER", "RESOLVED"),
    } == LEGAL


@pytest.mark.parametrize(("src", "dst"), sorted(LEGAL))
def test_every_legal_transition_succeeds_and_is_recorded(src, dst, supervisor):
    ticket = TicketFactory(status=src)

    changed = services.ticket_change_status(ticket=ticket, to_status=dst, actor=supervisor)

    assert changed.status == dst
    assert Ticket.objects.get(pk=ticket.pk).status == dst
    event = TicketEvent.objects.get(ticket=ticket)
    assert (event.kind, event.from_status, event.to_status, event.actor) == ("status_changed", src, dst, supervisor)


@pytest.mark.parametrize(("src", "dst"), sorted(set(ALL_PAIRS) - LEGAL))
def test_every_illegal_transition_is_refused_with_the_allowed_targets(src, dst, supervisor):
    ticket = TicketFactory(status=src)

    with pytest.raises(AppError) as caught:
        services.ticket_change_status(ticket=ticket, to_status=dst, actor=supervisor)

    assert caught.value.status == 409
    assert caught.value.code == "invalid_transition"
    assert caught.value.details == {
        "from": src,
        "to": dst,
        "allowed": list(TRANSITIONS[src]),
        "status": src,
        "version": ticket.version,
    }
    assert Ticket.objects.get(pk=ticket.pk).status == src
    assert not TicketEvent.objects.filter(ticket=ticket).exists()


def test_create_starts_the_sla_clock_from_the_tier_policy(supervisor):
    vip = ClientFactory(type=ClientType.VIP)

    ticket = services.ticket_create(title="Down", description="All down", client=vip, actor=supervisor, now=T0)

    assert ticket.status == "OPEN" and ticket.priority == 3 and ticket.escalation_level == 0
    assert ticket.sla_due_at == T0 + timedelta(hours=2)
    assert ticket.sla_resolution_check_at == T0 + timedelta(minutes=96)
    # the first response (VIP 15 min) is due first: warned at 80 %, 12 min
    assert (ticket.first_response_due_at, ticket.first_response_warning_at) == (
        T0 + timedelta(minutes=15),
        T0 + timedelta(minutes=12),
    )
    assert ticket.sla_next_check_at == T0 + timedelta(minutes=12)
    event = TicketEvent.objects.get(ticket=ticket)
    assert (event.kind, event.to_status, event.actor) == ("created", "OPEN", supervisor)


def test_create_follows_an_edited_policy(supervisor):
    SlaPolicy.objects.filter(client_type="NORMAL").update(target_hours=8, warning_threshold=0.5)

    ticket = services.ticket_create(title="Slow", description="Slow PC", client=ClientFactory(), actor=None, now=T0)

    assert ticket.sla_due_at == T0 + timedelta(hours=8)
    assert ticket.sla_resolution_check_at == T0 + timedelta(hours=4)


def test_resolve_sets_timestamp_and_minutes_and_stops_the_clock(supervisor):
    ticket = TicketFactory(status="IN_PROGRESS", created_at=T0)

    resolved = services.ticket_change_status(
        ticket=ticket, to_status="RESOLVED", actor=supervisor, now=T0 + timedelta(minutes=90, seconds=30)
    )

    assert resolved.resolved_at == T0 + timedelta(minutes=90, seconds=30)
    assert resolved.resolution_time_min == 90.5
    assert resolved.sla_next_check_at is None
    assert resolved.sla_breached_at is None


def test_late_resolution_records_the_breach_at_the_due_time(supervisor):
    ticket = TicketFactory(status="IN_PROGRESS", created_at=T0, client=ClientFactory(type="VIP"))

    resolved = services.ticket_change_status(
        ticket=ticket, to_status="RESOLVED", actor=supervisor, now=T0 + timedelta(hours=3)
    )

    assert resolved.sla_breached_at == T0 + timedelta(hours=2)


def test_reopen_clears_resolution_and_restarts_the_clock_with_the_original_due(supervisor):
    ticket = TicketFactory(status="IN_PROGRESS", created_at=T0)
    services.ticket_change_status(ticket=ticket, to_status="RESOLVED", actor=supervisor, now=T0 + timedelta(hours=1))

    reopened = services.ticket_change_status(
        ticket=ticket, to_status="IN_PROGRESS", actor=supervisor, now=T0 + timedelta(hours=2)
    )

    assert reopened.resolved_at is None and reopened.resolution_time_min is None
    assert reopened.sla_due_at == T0 + timedelta(hours=24)
    assert reopened.sla_next_check_at == T0 + timedelta(hours=24 * 0.8)


def test_close_keeps_the_resolution(supervisor):
    ticket = TicketFactory(status="IN_PROGRESS", created_at=T0)
    services.ticket_change_status(ticket=ticket, to_status="RESOLVED", actor=supervisor, now=T0 + timedelta(hours=1))

    closed = services.ticket_change_status(
        ticket=ticket, to_status="CLOSED", actor=supervisor, now=T0 + timedelta(hours=5)
    )

    assert closed.resolved_at == T0 + timedelta(hours=1) and closed.resolution_time_min == 60.0
    assert closed.sla_next_check_at is None


def test_escalation_raises_the_level_each_time(supervisor):
    ticket = TicketFactory(status="OPEN")

    services.ticket_change_status(ticket=ticket, to_status="ESCALATED", actor=supervisor)
    services.ticket_change_status(ticket=ticket, to_status="IN_PROGRESS", actor=supervisor)
    again = services.ticket_change_status(ticket=ticket, to_status="ESCALATED", actor=supervisor)

    assert again.escalation_level == 2
    assert TicketEvent.objects.filter(ticket=ticket).last().data == {"escalationLevel": 2}


@pytest.mark.parametrize("to_status", ["RESOLVED", "CLOSED", "ESCALATED"])
def test_projected_statuses_call_the_projection_hook(monkeypatch, supervisor, to_status):
    calls = []
    monkeypatch.setattr(services, "_on_ticket_changed", lambda ticket, event: calls.append((ticket.status, event.pk)))
    source = {"RESOLVED": "IN_PROGRESS", "CLOSED": "RESOLVED", "ESCALATED": "OPEN"}[to_status]
    ticket = TicketFactory(status=source)

    services.ticket_change_status(ticket=ticket, to_status=to_status, actor=supervisor)

    assert calls == [(to_status, TicketEvent.objects.get(ticket=ticket).pk)]


def test_projection_hook_not_called_for_other_statuses(monkeypatch, supervisor):
    calls = []
    monkeypatch.setattr(services, "_on_ticket_changed", lambda ticket, event: calls.append(ticket))

    services.ticket_change_status(ticket=TicketFactory(), to_status="IN_PROGRESS", actor=supervisor)

    assert calls == []


def test_agent_changes_only_tickets_assigned_to_them(agent):
    mine = TicketFactory(agent=agent)
    other = TicketFactory(agent=UserFactory(role=Role.AGENT))

    assert services.ticket_change_status(ticket=mine, to_status="IN_PROGRESS", actor=agent).status == "IN_PROGRESS"
    with pytest.raises(AppError) as caught:
        services.ticket_change_status(ticket=other, to_status="IN_PROGRESS", actor=agent)
    assert (caught.value.status, caught.value.code) == (403, "not_assigned")


def test_system_actor_changes_any_ticket():
    ticket = services.ticket_change_status(ticket=TicketFactory(), to_status="ESCALATED", actor=None)

    assert ticket.status == "ESCALATED"
    assert TicketEvent.objects.get(ticket=ticket).actor is None


def test_deleted_ticket_cannot_change(supervisor):
    ticket = TicketFactory()
    services.ticket_soft_delete(ticket=ticket, actor=supervisor)

    with pytest.raises(AppError) as caught:
        services.ticket_change_status(ticket=ticket, to_status="IN_PROGRESS", actor=supervisor)

    assert (caught.value.status, caught.value.code) == (404, "ticket_not_found")


# --- assignment --------------------------------------------------------------------------
def test_assign_records_previous_and_new_agent(supervisor, agent):
    ticket = TicketFactory()

    assigned = services.ticket_assign(ticket=ticket, agent_id=agent.pk, actor=supervisor)

    assert assigned.agent == agent
    event = TicketEvent.objects.get(ticket=ticket)
    assert event.kind == "assigned"
    assert event.data == {"fromAgentId": None, "toAgentId": str(agent.pk)}


@pytest.mark.parametrize(
    "agent_kwargs",
    [
        {"role": Role.AGENT, "is_active": False},
        {"role": Role.SUPERVISOR},
        {"role": Role.ADMIN},
    ],
)
def test_assign_refuses_inactive_or_non_agents(supervisor, agent_kwargs):
    ticket = TicketFactory()
    user = UserFactory(**agent_kwargs)

    with pytest.raises(AppError) as caught:
        services.ticket_assign(ticket=ticket, agent_id=user.pk, actor=supervisor)

    assert (caught.value.status, caught.value.code) == (422, "invalid_agent")
    assert Ticket.objects.get(pk=ticket.pk).agent is None


def test_assign_refuses_unknown_agent(supervisor):
    with pytest.raises(AppError) as caught:
        services.ticket_assign(
            ticket=TicketFactory(), agent_id="00000000-0000-0000-0000-000000000000", actor=supervisor
        )

    assert (caught.value.status, caught.value.code) == (422, "invalid_agent")


def test_escalated_ticket_needs_level_two(supervisor):
    ticket = TicketFactory(status="ESCALATED", escalation_level=1)
    junior = UserFactory(role=Role.AGENT, level=1)
    senior = UserFactory(role=Role.AGENT, level=2)

    with pytest.raises(AppError) as caught:
        services.ticket_assign(ticket=ticket, agent_id=junior.pk, actor=supervisor)
    assert (caught.value.status, caught.value.code) == (422, "agent_level_too_low")
    assert caught.value.details == {"agentLevel": 1, "requiredLevel": 2}

    assert services.ticket_assign(ticket=ticket, agent_id=senior.pk, actor=supervisor).agent == senior


def test_level_one_agent_may_take_a_non_escalated_ticket(supervisor, agent):
    assert services.ticket_assign(ticket=TicketFactory(status="IN_PROGRESS"), agent_id=agent.pk, actor=supervisor)


def test_agents_cannot_assign(agent):
    with pytest.raises(AppError) as caught:
        services.ticket_assign(ticket=TicketFactory(), agent_id=agent.pk, actor=agent)

    assert caught.value.status == 403


# --- update and delete -------------------------------------------------------------------
def test_update_records_what_changed(supervisor):
    ticket = TicketFactory(title="Old", priority=3)

    updated = services.ticket_update(ticket=ticket, actor=supervisor, title="New", priority=3)

    assert updated.title == "New"
    event = TicketEvent.objects.get(ticket=ticket)
    assert (event.kind, event.data) == ("updated", {"changes": {"title": {"from": "Old", "to": "New"}}})


def test_update_without_changes_records_nothing(supervisor):
    ticket = TicketFactory(title="Same")

    services.ticket_update(ticket=ticket, actor=supervisor, title="Same")

    assert not TicketEvent.objects.filter(ticket=ticket).exists()


def test_soft_delete_hides_the_ticket_and_stops_the_clock(supervisor):
    ticket = TicketFactory()

    services.ticket_soft_delete(ticket=ticket, actor=supervisor, now=T0)

    row = Ticket.objects.get(pk=ticket.pk)
    assert row.deleted_at == T0 and row.sla_next_check_at is None
    assert not Ticket.objects.alive().filter(pk=ticket.pk).exists()
    assert TicketEvent.objects.get(ticket=ticket).kind == "deleted"


def test_transition_apply_is_reusable_in_bulk():
    """The SLA sweep applies transitions to rows it locked itself and saves them in bulk."""
    tickets = [TicketFactory(status="OPEN") for _ in range(3)]
    now = datetime.now(UTC)

    events = [services.transition_apply(t, "ESCALATED", actor=None, now=now, kind="escalated") for t in tickets]
    Ticket.objects.bulk_update(tickets, ["status", "escalation_level", "updated_at"])
    TicketEvent.objects.bulk_create(events)

    escalated = set(Ticket.objects.filter(escalation_level=1, status="ESCALATED").values_list("pk", flat=True))
    assert escalated == {t.pk for t in tickets}
    assert TicketEvent.objects.filter(kind="escalated").count() == 3


def test_client_create_and_update_refuse_duplicate_email():
    services.client_create(name="A", email="Dup@Example.com", type="VIP")
    other = services.client_create(name="B", email="b@example.com", type="NORMAL")

    with pytest.raises(AppError) as caught:
        services.client_create(name="C", email="dup@example.com", type="VIP")
    assert (caught.value.status, caught.value.code) == (409, "client_email_taken")
    with pytest.raises(AppError) as caught:
        services.client_update(client=other, email="DUP@example.com")
    assert caught.value.code == "client_email_taken"
