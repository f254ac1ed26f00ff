"""Auto-assignment (tickets/auto_assign.py): a tier that opts in has its new tickets, and its
tickets escalated without an agent, assigned to the least loaded eligible agent; the decision,
an agent or none, is an `assigned` event."""

from datetime import timedelta

import pytest

from accounts.roles import Role
from tests.accounts.factories import UserFactory
from tests.conftest import client_for
from tests.tickets.conftest import T0
from tests.tickets.factories import ClientFactory, TicketFactory, auto_assign_on
from tickets import services
from tickets.admin.audit import event_sentence
from tickets.auto_assign import auto_assign_candidates
from tickets.models import Ticket, TicketEvent
from tickets.states import ClientType, TicketStatus
from tickets.sweep import sla_sweep

pytestmark = pytest.mark.django_db


def _agent(email: str, *, level: int = 1, open_tickets: int = 0, last_assigned_at=None, **fields):
    agent = UserFactory(role=Role.AGENT, level=level, email=email, last_assigned_at=last_assigned_at, **fields)
    for _ in range(open_tickets):
        TicketFactory(agent=agent, status=TicketStatus.IN_PROGRESS)
    return agent


def _create(tier=ClientType.NORMAL, *, now=T0) -> Ticket:
    ticket = services.ticket_create(
        title="Printer on fire", description="Smoke.", client=ClientFactory(type=tier), actor=None, now=now
    )
    return Ticket.objects.get(pk=ticket.pk)


def _decision(ticket) -> dict:
    (event,) = TicketEvent.objects.filter(ticket=ticket, kind=TicketEvent.Kind.ASSIGNED, data__auto=True)
    return event.data


# --- Who is chosen ---------------------------------------------------------------------------
def test_without_the_tier_opting_in_a_new_ticket_stays_unassigned_as_before():
    _agent("idle@example.com")
    auto_assign_on(ClientType.VIP)  # another tier

    ticket = _create(ClientType.NORMAL)

    assert ticket.agent_id is None
    assert list(TicketEvent.objects.filter(ticket=ticket).values_list("kind", flat=True)) == ["created"]


def test_a_new_ticket_goes_to_the_agent_with_the_fewest_open_tickets():
    auto_assign_on(ClientType.NORMAL)
    _agent("two@example.com", open_tickets=2)
    one = _agent("one@example.com", open_tickets=1)
    _agent("three@example.com", open_tickets=3)

    ticket = _create()

    assert ticket.agent_id == one.pk
    assert ticket.version == 1
    assert _decision(ticket) == {
        "fromAgentId": None,
        "toAgentId": str(one.pk),
        "auto": True,
        "reason": "fewest_open_tickets",
        "note": "fewest open tickets (1) among 3 eligible agents at level >= 1",
        "openTickets": 1,
        "candidates": 3,
        "requiredLevel": 1,
        "cap": 20,
    }
    assert list(TicketEvent.objects.filter(ticket=ticket).values_list("kind", "actor")) == [
        ("created", None),
        ("assigned", None),
    ]
    one.refresh_from_db()
    assert one.last_assigned_at == T0


def test_finished_and_deleted_tickets_are_not_open_work():
    auto_assign_on(ClientType.NORMAL)
    busy = _agent("busy@example.com", open_tickets=1)
    done = _agent("done@example.com")
    for status in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
        TicketFactory(agent=done, status=status)
    TicketFactory(agent=done, status=TicketStatus.OPEN, deleted_at=T0)

    assert _create().agent_id == done.pk
    assert busy.pk != done.pk


def test_equal_load_goes_to_the_idlest_agent_and_never_assigned_is_the_idlest():
    auto_assign_on(ClientType.NORMAL)
    recent = _agent("recent@example.com", last_assigned_at=T0 - timedelta(minutes=5))
    older = _agent("older@example.com", last_assigned_at=T0 - timedelta(hours=5))

    assert _create().agent_id == older.pk  # then `older` was assigned at T0: now the least idle
    assert _create().agent_id == recent.pk  # both hold one ticket; `recent` is now the idler
    never = _agent("never@example.com", open_tickets=1)
    assert _create(now=T0 + timedelta(minutes=1)).agent_id == never.pk


def test_equal_load_never_assigned_is_decided_by_id():
    auto_assign_on(ClientType.NORMAL)
    agents = [_agent(f"twin{n}@example.com") for n in range(3)]

    assert _create().agent_id == min(agent.pk for agent in agents)


@pytest.mark.parametrize(
    "fields",
    [
        {"accepts_auto_assignment": False},  # on leave
        {"is_active": False},
        {"role": Role.SUPERVISOR},
    ],
)
def test_agents_on_leave_inactive_or_not_agents_are_passed_by(fields):
    auto_assign_on(ClientType.NORMAL)
    passed_by = UserFactory(level=3, email="passed@example.com", **{"role": Role.AGENT, **fields})
    working = _agent("working@example.com", open_tickets=5)

    assert _create().agent_id == working.pk
    assert passed_by.pk not in set(auto_assign_candidates(min_level=1).values_list("pk", flat=True))


def test_an_agent_at_the_cap_is_passed_by_and_with_nobody_left_the_ticket_stays_unassigned(settings):
    settings.AUTO_ASSIGN_MAX_OPEN_PER_AGENT = 2
    auto_assign_on(ClientType.NORMAL)
    almost = _agent("almost@example.com", open_tickets=1)
    _agent("full@example.com", open_tickets=2)

    assert _create().agent_id == almost.pk  # now at the cap too
    ticket = _create()

    assert ticket.agent_id is None
    assert _decision(ticket) == {
        "fromAgentId": None,
        "toAgentId": None,
        "auto": True,
        "reason": "no_eligible_agent",
        "note": (
            "no agent free among 0 eligible at level >= 1 (active, accepting auto-assignment, below 2 open tickets)"
        ),
        "candidates": 0,
        "requiredLevel": 1,
        "cap": 2,
    }


def test_the_decisions_read_as_sentences_in_the_audit_trail():
    auto_assign_on(ClientType.NORMAL)
    agent = _agent("reader@example.com", open_tickets=3)
    assigned = TicketEvent.objects.get(ticket=_create(), kind="assigned")
    agent.accepts_auto_assignment = False
    agent.save()
    left = TicketEvent.objects.get(ticket=_create(), kind="assigned")

    assert event_sentence(assigned, {str(agent.pk): agent.email}) == (
        "Auto-assigned to reader@example.com: fewest open tickets (3) among 1 eligible agents at level >= 1."
    )
    assert event_sentence(left, {}) == (
        "Auto-assignment left it unassigned: no agent free among 0 eligible at level >= 1 (active, accepting "
        "auto-assignment, below 20 open tickets)."
    )


# --- Escalation --------------------------------------------------------------------------------
def test_an_escalated_ticket_goes_to_a_senior_agent_even_if_a_junior_is_less_loaded(supervisor):
    auto_assign_on(ClientType.NORMAL)
    junior = _agent("junior@example.com", level=1)
    senior = _agent("senior@example.com", level=2, open_tickets=4)
    _agent("senior-on-leave@example.com", level=3, accepts_auto_assignment=False)
    ticket = _create()
    assert ticket.agent_id == junior.pk

    response = client_for(supervisor).patch(f"/api/tickets/{ticket.pk}/status", {"status": "ESCALATED"}, format="json")

    assert response.status_code == 200
    assert response.json()["agentId"] == str(senior.pk)
    trail = list(TicketEvent.objects.filter(ticket=ticket).values_list("kind", "data__toAgentId", "data__reason"))
    assert trail == [
        ("created", None, None),
        ("assigned", str(junior.pk), "fewest_open_tickets"),
        ("status_changed", None, None),
        ("assigned", None, "agent_level_too_low"),  # the junior unassigned by the level rule
        ("assigned", str(senior.pk), "fewest_open_tickets"),
    ]
    assert _escalation_decision(ticket)["requiredLevel"] == 2


def _escalation_decision(ticket) -> dict:
    return TicketEvent.objects.filter(ticket=ticket, data__auto=True).order_by("-id").first().data


def test_an_escalated_ticket_keeps_an_agent_of_a_sufficient_level():
    auto_assign_on(ClientType.NORMAL)
    senior = _agent("keeper@example.com", level=3, open_tickets=9)
    _agent("idle-senior@example.com", level=3)
    ticket = TicketFactory(agent=senior)

    services.ticket_change_status(ticket=ticket, to_status=TicketStatus.ESCALATED, actor=None)

    assert Ticket.objects.get(pk=ticket.pk).agent_id == senior.pk
    assert not TicketEvent.objects.filter(ticket=ticket, kind="assigned").exists()


def test_an_escalation_without_the_tier_opting_in_leaves_the_ticket_unassigned():
    _agent("senior-idle@example.com", level=2)
    ticket = TicketFactory()

    services.ticket_change_status(ticket=ticket, to_status=TicketStatus.ESCALATED, actor=None)

    assert Ticket.objects.get(pk=ticket.pk).agent_id is None
    assert not TicketEvent.objects.filter(ticket=ticket, kind="assigned").exists()


def test_an_escalation_with_no_senior_free_records_that_nobody_was_found():
    auto_assign_on(ClientType.NORMAL)
    _agent("only-junior@example.com", level=1)
    ticket = TicketFactory()

    services.ticket_change_status(ticket=ticket, to_status=TicketStatus.ESCALATED, actor=None)

    assert Ticket.objects.get(pk=ticket.pk).agent_id is None
    decision = _escalation_decision(ticket)
    assert (decision["reason"], decision["requiredLevel"], decision["candidates"]) == ("no_eligible_agent", 2, 0)


def test_the_admin_escalate_action_auto_assigns(back_office):
    auto_assign_on(ClientType.NORMAL)
    senior = _agent("admin-senior@example.com", level=2)
    ticket = TicketFactory()

    back_office.post(
        "/admin/tickets/ticket/", {"action": "escalate", "_selected_action": [str(ticket.pk)]}, follow=True
    )

    assert Ticket.objects.get(pk=ticket.pk).agent_id == senior.pk


def test_the_sla_sweep_spreads_its_escalations_over_the_senior_agents(django_assert_max_num_queries):
    auto_assign_on(ClientType.VIP)  # the VIP default: escalate on breach
    junior = _agent("sweep-junior@example.com", level=1)
    tickets = [_create(ClientType.VIP) for _ in range(4)]
    seniors = [_agent(f"sweep-senior{n}@example.com", level=2 + n % 2) for n in range(2)]
    assert {t.agent_id for t in tickets} == {junior.pk}
    due = T0 + timedelta(hours=2, minutes=1)

    # Without auto-assignment a batch costs at most 12 queries (test_sla_sweep); with it, one
    # ranking, two per agent chosen and one update of the agents, whatever the batch size.
    with django_assert_max_num_queries(12 + 1 + 2 * 2 + 1):
        result = sla_sweep(now=due)

    assert (result.escalated, result.auto_assigned) == (4, 4)
    agents = sorted(
        str(agent) for agent in Ticket.objects.filter(pk__in=[t.pk for t in tickets]).values_list("agent", flat=True)
    )
    assert agents == sorted([str(seniors[0].pk)] * 2 + [str(seniors[1].pk)] * 2)
    for ticket in tickets:
        kinds = list(TicketEvent.objects.filter(ticket=ticket).values_list("kind", "data__reason"))
        assert kinds[-3:] == [
            ("escalated", "sla"),
            ("assigned", "agent_level_too_low"),
            ("assigned", "fewest_open_tickets"),
        ]


def test_the_sla_sweep_without_opt_in_leaves_its_escalations_unassigned():
    _agent("sweep-idle@example.com", level=3)
    tickets = [_create(ClientType.VIP) for _ in range(3)]

    result = sla_sweep(now=T0 + timedelta(hours=2, minutes=1))

    assert (result.escalated, result.auto_assigned) == (3, 0)
    assert not Ticket.objects.filter(pk__in=[t.pk for t in tickets], agent__isnull=False).exists()


def test_a_manual_assignment_counts_as_the_agents_last_assignment(supervisor):
    agent = _agent("manual@example.com")
    ticket = TicketFactory()

    services.ticket_assign(ticket=ticket, agent_id=agent.pk, actor=supervisor, now=T0)

    agent.refresh_from_db()
    assert agent.last_assigned_at == T0


def test_supervisors_turn_a_tier_on_in_the_sla_policy_admin(back_office):
    from tickets.models import SlaPolicy

    policy = auto_assign_on(ClientType.NORMAL)
    policy.auto_assign = False
    policy.save()
    form = {
        "target_hours": "24",
        "breach_action": "NOTIFY",
        "escalation_ceiling": "3",
        "warning_threshold": "0.8",
        "first_response_minutes": "240",
    }

    response = back_office.post(f"/admin/tickets/slapolicy/{policy.pk}/change/", {**form, "auto_assign": "on"})

    assert response.status_code == 302
    assert SlaPolicy.objects.get(pk=policy.pk).auto_assign is True
    assert "auto_assign" in back_office.get("/admin/tickets/slapolicy/").context["cl"].list_display
