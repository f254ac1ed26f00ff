"""The level rule — an ESCALATED ticket needs an agent of level 2 or higher — holds at every
transition, not only at assignment: entering ESCALATED (API, admin action, SLA sweep) and
lowering an agent's level unassign a too-low agent (an `assigned` event with the reason, an
`unassigned` notification), and a too-low agent cannot act on an escalated ticket.

Was: escalating kept a level-1 assignee, who could then move the ticket ESCALATED→IN_PROGRESS."""

import ast
import pathlib
import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.db import transaction
from django.test import Client as DjangoClient

from accounts.models import User
from accounts.services import supervisors_group_sync, user_update
from tests.conftest import client_for
from tests.threads import in_thread
from tests.tickets.conftest import T0
from tests.tickets.factories import ClientFactory, TicketFactory, without_first_response
from tests.tickets.test_ticket_concurrency import _wait_until_blocked
from tickets import services
from tickets.models import Notification, Ticket, TicketEvent
from tickets.sweep import sla_sweep

pytestmark = pytest.mark.django_db

REASON = {"reason": "agent_level_too_low", "agentLevel": 1, "requiredLevel": 2}


def _assigned(agent, status="IN_PROGRESS", tier="NORMAL", **fields):
    return TicketFactory(agent=agent, status=status, client=ClientFactory(type=tier), **fields)


def _unassignments(ticket) -> list[dict]:
    return [
        event.data
        for event in TicketEvent.objects.filter(ticket=ticket, kind="assigned").order_by("id")
        if event.data.get("toAgentId") is None
    ]


def _notices(agent) -> list[str]:
    return list(Notification.objects.filter(recipient=agent, kind="unassigned").values_list("ticket_id", flat=True))


# --- entering ESCALATED ------------------------------------------------------------------
def test_escalating_through_the_api_unassigns_a_level_one_agent(desk, supervisor_client):
    ticket = _assigned(desk.agent1)

    response = supervisor_client.patch(f"/api/tickets/{ticket.pk}/status", {"status": "ESCALATED"}, format="json")

    assert response.status_code == 200
    assert (response.json()["status"], response.json()["agentId"]) == ("ESCALATED", None)
    events = list(TicketEvent.objects.filter(ticket=ticket).order_by("id").values_list("kind", "data"))
    assert events == [
        ("status_changed", {"escalationLevel": 1}),
        ("assigned", {"fromAgentId": str(desk.agent1.pk), "toAgentId": None, **REASON}),
    ]
    notice = Notification.objects.get(kind="unassigned")
    assert (notice.recipient, notice.ticket_id, notice.webhook_status) == (desk.agent1, ticket.pk, "skipped")
    assert "needs an agent of level 2 or higher, and yours is 1" in notice.message


def test_escalating_keeps_an_agent_of_level_two(desk, supervisor_client):
    ticket = _assigned(desk.agent2)

    response = supervisor_client.patch(f"/api/tickets/{ticket.pk}/status", {"status": "ESCALATED"}, format="json")

    assert response.json()["agentId"] == str(desk.agent2.pk)
    assert _unassignments(ticket) == []
    assert not Notification.objects.exists()


def test_the_unassigned_agent_is_emailed_after_commit(desk, django_capture_on_commit_callbacks):
    ticket = _assigned(desk.agent1, title="Core switch down")

    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_change_status(ticket=ticket, to_status="ESCALATED", actor=desk.supervisor)

    assert [(m.to, m.subject) for m in mail.outbox] == [
        ([desk.agent1.email], "[TechSupport Pro] Ticket unassigned: Core switch down")
    ]
    assert Notification.objects.get(kind="unassigned").email_status == "sent"


def test_an_agent_escalating_their_own_ticket_hands_it_over(desk):
    ticket = _assigned(desk.agent1)

    response = client_for(desk.agent1).patch(f"/api/tickets/{ticket.pk}/status", {"status": "ESCALATED"}, format="json")

    assert (response.status_code, response.json()["agentId"]) == (200, None)
    assert _unassignments(ticket) == [{"fromAgentId": str(desk.agent1.pk), "toAgentId": None, **REASON}]


def test_the_admin_escalate_action_unassigns_too(desk):
    desk.supervisor.groups.add(supervisors_group_sync())
    browser = DjangoClient()
    browser.force_login(desk.supervisor)
    low, senior = _assigned(desk.agent1), _assigned(desk.agent3)

    response = browser.post(
        "/admin/tickets/ticket/",
        {"action": "escalate", "_selected_action": [str(low.pk), str(senior.pk)]},
        follow=True,
    )

    assert response.status_code == 200
    assert Ticket.objects.get(pk=low.pk).agent_id is None
    assert Ticket.objects.get(pk=senior.pk).agent_id == desk.agent3.pk
    event = TicketEvent.objects.get(ticket=low, kind="assigned")
    assert (event.actor, event.data["reason"]) == (desk.supervisor, "agent_level_too_low")


def test_the_sla_sweep_unassigns_a_level_one_agent_in_bulk(desk):
    low = [
        services.ticket_assign(
            ticket=without_first_response(
                services.ticket_create(
                    title=f"VIP {n}", description="Down.", client=ClientFactory(type="VIP"), actor=None, now=T0
                )
            ),
            agent_id=desk.agent1.pk,
            actor=None,
            now=T0,
        )
        for n in range(3)
    ]
    senior = services.ticket_assign(
        ticket=without_first_response(
            services.ticket_create(
                title="VIP senior", description="Down.", client=ClientFactory(type="VIP"), actor=None, now=T0
            )
        ),
        agent_id=desk.agent2.pk,
        actor=None,
        now=T0,
    )

    result = sla_sweep(now=T0 + timedelta(hours=2), batch_size=2)

    assert result.escalations == {1: 4}
    for ticket in low:
        fresh = Ticket.objects.get(pk=ticket.pk)
        assert (fresh.status, fresh.agent_id, fresh.version) == ("ESCALATED", None, 3)
        assert _unassignments(ticket) == [{"fromAgentId": str(desk.agent1.pk), "toAgentId": None, **REASON}]
        kinds = list(TicketEvent.objects.filter(ticket=ticket).order_by("id").values_list("kind", flat=True))
        assert kinds == ["created", "assigned", "escalated", "assigned"]
    assert Ticket.objects.get(pk=senior.pk).agent_id == desk.agent2.pk
    assert sorted(_notices(desk.agent1)) == sorted(t.pk for t in low)
    # The SLA notifications are unchanged: the escalation goes to level-2+ agents and supervisors.
    escalation_recipients = set(
        Notification.objects.filter(ticket=low[0], kind="sla_escalation").values_list("recipient", flat=True)
    )
    assert escalation_recipients == desk.escalation_recipients


# --- acting on an escalated ticket -------------------------------------------------------
def test_a_level_one_agent_cannot_act_on_an_escalated_ticket_still_assigned_to_them(desk):
    ticket = _assigned(desk.agent1, status="ESCALATED", escalation_level=1)  # data from before the rule

    response = client_for(desk.agent1).patch(
        f"/api/tickets/{ticket.pk}/status", {"status": "IN_PROGRESS"}, format="json"
    )

    assert response.status_code == 422
    assert response.json() == {
        "message": "An escalated ticket needs an agent of level 2 or higher.",
        "code": "agent_level_too_low",
        "details": {"agentLevel": 1, "requiredLevel": 2},
    }
    assert Ticket.objects.get(pk=ticket.pk).status == "ESCALATED"


def test_a_level_two_agent_moves_their_escalated_ticket_on(desk):
    ticket = _assigned(desk.agent2, status="ESCALATED", escalation_level=1)

    response = client_for(desk.agent2).patch(
        f"/api/tickets/{ticket.pk}/status", {"status": "IN_PROGRESS"}, format="json"
    )

    assert response.status_code == 200


# --- lowering an agent's level -----------------------------------------------------------
def test_lowering_a_level_through_the_api_unassigns_the_agents_escalated_tickets(desk, admin_client):
    escalated = _assigned(desk.agent2, status="ESCALATED", escalation_level=1)
    in_progress = _assigned(desk.agent2)
    other = _assigned(desk.agent3, status="ESCALATED", escalation_level=1)

    response = admin_client.patch(f"/api/users/{desk.agent2.pk}", {"level": 1}, format="json")

    assert response.status_code == 200
    assert Ticket.objects.get(pk=escalated.pk).agent_id is None
    assert Ticket.objects.get(pk=escalated.pk).version == 2
    assert Ticket.objects.get(pk=in_progress.pk).agent_id == desk.agent2.pk
    assert Ticket.objects.get(pk=other.pk).agent_id == desk.agent3.pk
    assert _unassignments(escalated) == [{"fromAgentId": str(desk.agent2.pk), "toAgentId": None, **REASON}]
    assert _notices(desk.agent2) == [escalated.pk]


def test_raising_or_keeping_a_level_changes_no_ticket(desk):
    escalated = _assigned(desk.agent2, status="ESCALATED", escalation_level=1)

    user_update(user=desk.agent2, level=3)
    user_update(user=desk.agent2, is_active=True)

    assert Ticket.objects.get(pk=escalated.pk).agent_id == desk.agent2.pk
    assert not TicketEvent.objects.exists()


def test_lowering_a_level_in_the_admin_unassigns_with_the_admin_as_actor(desk):
    escalated = _assigned(desk.agent3, status="ESCALATED", escalation_level=2)
    browser = DjangoClient()
    browser.force_login(desk.admin)
    agent = desk.agent3
    data = {"email": agent.email, "name": agent.name, "role": "AGENT", "level": 1, "is_active": "on"}

    response = browser.post(f"/admin/accounts/user/{agent.pk}/change/", data)

    assert response.status_code == 302
    assert User.objects.get(pk=agent.pk).level == 1
    assert Ticket.objects.get(pk=escalated.pk).agent_id is None
    event = TicketEvent.objects.get(ticket=escalated, kind="assigned")
    assert (event.actor, event.data["fromAgentId"]) == (desk.admin, str(agent.pk))
    assert _notices(agent) == [escalated.pk]


def test_a_failing_unassignment_rolls_the_level_change_back(desk, monkeypatch):
    _assigned(desk.agent2, status="ESCALATED", escalation_level=1)

    def boom(**kwargs):
        raise RuntimeError("ticket side failed")

    monkeypatch.setattr(services, "ticket_unassign_below_level", boom)
    with pytest.raises(RuntimeError):
        user_update(user=desk.agent2, level=1)

    assert User.objects.get(pk=desk.agent2.pk).level == 2


def test_accounts_never_imports_tickets():
    # Apps depend core <- accounts <- tickets: accounts announces, tickets subscribes.
    for path in pathlib.Path("accounts").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                assert not (node.module or "").startswith("tickets"), path
            elif isinstance(node, ast.Import):
                assert not any(alias.name.startswith("tickets") for alias in node.names), path


# --- races with a level change (real threads, real row locks) ----------------------------
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_escalation_running_while_the_level_drops_is_still_unassigned(desk):
    # The escalation read the old level (2) and keeps the agent; the level change must wait for
    # it and then see the ticket ESCALATED, though it was IN_PROGRESS when the change began.
    ticket = _assigned(desk.agent2)
    escalated, release = threading.Event(), threading.Event()

    def escalate_slowly():
        with transaction.atomic():
            services.ticket_change_status(ticket=ticket, to_status="ESCALATED", actor=None)
            escalated.set()
            release.wait(timeout=20)

    escalation = in_thread(escalate_slowly)
    assert escalated.wait(timeout=10)
    lowering = in_thread(lambda: user_update(user=User.objects.get(pk=desk.agent2.pk), level=1))
    _wait_until_blocked()
    release.set()
    escalation.join()
    lowering.join(timeout=20)

    fresh = Ticket.objects.get(pk=ticket.pk)
    assert (fresh.status, fresh.agent_id) == ("ESCALATED", None)
    assert User.objects.get(pk=desk.agent2.pk).level == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_assignment_during_a_level_drop_reads_the_new_level(desk):
    ticket = _assigned(None, status="ESCALATED", escalation_level=1)
    lowered, release = threading.Event(), threading.Event()
    errors = []

    def lower_slowly():
        with transaction.atomic():
            user_update(user=User.objects.get(pk=desk.agent2.pk), level=1)
            lowered.set()
            release.wait(timeout=20)

    def assign():
        try:
            services.ticket_assign(ticket=ticket, agent_id=desk.agent2.pk, actor=None)
        except Exception as exc:
            errors.append(getattr(exc, "code", repr(exc)))

    lowering = in_thread(lower_slowly)
    assert lowered.wait(timeout=10)
    assignment = in_thread(assign)
    _wait_until_blocked()
    release.set()
    lowering.join()
    assignment.join(timeout=20)

    assert errors == ["agent_level_too_low"]
    assert Ticket.objects.get(pk=ticket.pk).agent_id is None
