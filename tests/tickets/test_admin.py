"""The supervisors' back-office, driven through Django's test client as a supervisor."""

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.test import Client as DjangoClient
from django.utils import timezone

from accounts.services import supervisors_group_sync
from tests.accounts.factories import UserFactory
from tests.tickets.factories import ClientFactory, TicketFactory
from tickets.models import Client, SlaPolicy, Ticket, TicketEvent

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/tickets/ticket/"


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def _action(browser, action, tickets, **extra):
    data = {"action": action, "_selected_action": [str(t.pk) for t in tickets], **extra}
    return browser.post(CHANGELIST, data, follow=True)


def test_agents_cannot_reach_the_admin(agent):
    browser = DjangoClient()
    browser.force_login(agent)

    response = browser.get(CHANGELIST)

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_supervisor_group_has_exactly_the_ticket_permissions(supervisor):
    perms = {p.split(".", 1)[1] for p in supervisor.__class__.objects.get(pk=supervisor.pk).get_all_permissions()}
    assert perms == set()  # not in the group yet
    supervisor.groups.add(supervisors_group_sync())
    fresh = supervisor.__class__.objects.get(pk=supervisor.pk)

    assert {p for p in fresh.get_all_permissions() if p.startswith("tickets.")} == {
        "tickets.view_ticket",
        "tickets.add_ticket",
        "tickets.change_ticket",
        "tickets.view_ticketevent",
        "tickets.view_client",
        "tickets.add_client",
        "tickets.change_client",
        "tickets.view_slapolicy",
        "tickets.change_slapolicy",
        "tickets.view_businesscalendar",
        "tickets.add_businesscalendar",
        "tickets.change_businesscalendar",
        "tickets.view_holiday",
        "tickets.add_holiday",
        "tickets.change_holiday",
        "tickets.delete_holiday",
        "tickets.view_notification",
    }
    assert not fresh.has_perm("tickets.delete_ticket")


def test_changelist_query_count_is_constant(back_office, django_assert_max_num_queries):
    agent = UserFactory(role="AGENT")
    TicketFactory.create_batch(3, agent=agent)
    with django_assert_max_num_queries(100) as few:
        assert back_office.get(CHANGELIST).status_code == 200
    TicketFactory.create_batch(40, agent=agent)
    TicketFactory.create_batch(7, client=ClientFactory(type="VIP"))

    with django_assert_max_num_queries(len(few.captured_queries)) as many:
        response = back_office.get(CHANGELIST)

    assert response.status_code == 200
    assert len(many.captured_queries) == len(few.captured_queries)


def test_changelist_shows_sla_badges(back_office):
    now = timezone.now()
    TicketFactory(title="Fresh one", created_at=now)
    TicketFactory(title="Risky one", created_at=now - timedelta(hours=20))
    TicketFactory(title="Late one", created_at=now - timedelta(hours=30))

    html = back_office.get(CHANGELIST).content.decode()

    assert "#2e7d32" in html  # green
    assert "#ef8f00" in html  # amber: past 80 % of the window
    assert "#c62828" in html  # red: breached
    assert "overdue 6h" in html


def test_changelist_filters_and_search(back_office):
    now = timezone.now()
    vip = ClientFactory(type="VIP", name="Globex")
    fresh = TicketFactory(title="Printer jam", created_at=now)
    risky = TicketFactory(title="Disk almost full", created_at=now - timedelta(hours=20))
    late = TicketFactory(title="Mail down", created_at=now - timedelta(hours=30), client=vip)
    escalated = TicketFactory(title="Escalated one", status="ESCALATED", escalation_level=2)
    deleted = TicketFactory(title="Gone", deleted_at=now)

    def titles(query):
        response = back_office.get(f"{CHANGELIST}?{query}")
        assert response.status_code == 200
        return {t.title for t in response.context["cl"].result_list}

    assert titles("") == {"Printer jam", "Disk almost full", "Mail down", "Escalated one"}
    assert titles("deleted=yes") == {"Gone"}
    assert titles("deleted=all") == {t.title for t in [fresh, risky, late, escalated, deleted]}
    assert titles("breached=yes") == {"Mail down"}
    assert titles("at_risk=yes") == {"Disk almost full"}
    assert titles("client_type__exact=VIP") == {"Mail down"}
    assert titles("escalation_level=2") == {"Escalated one"}
    assert titles("status__exact=ESCALATED") == {"Escalated one"}
    assert titles("q=globex") == {"Mail down"}
    assert titles("q=printer") == {"Printer jam"}
    assert titles(f"q={risky.pk}") == {"Disk almost full"}
    assert titles("o=8") == titles("")  # sortable by SLA due (the 8th column)


@pytest.mark.parametrize(
    ("action", "start", "end"),
    [
        ("start_progress", "OPEN", "IN_PROGRESS"),
        ("resolve", "IN_PROGRESS", "RESOLVED"),
        ("close", "RESOLVED", "CLOSED"),
        ("escalate", "IN_PROGRESS", "ESCALATED"),
    ],
)
def test_status_actions_go_through_the_service(back_office, supervisor, action, start, end):
    movable = TicketFactory(status=start)
    stuck = TicketFactory(status="CLOSED", title="Closed already")

    response = _action(back_office, action, [movable, stuck])

    assert response.status_code == 200
    assert Ticket.objects.get(pk=movable.pk).status == end
    assert Ticket.objects.get(pk=stuck.pk).status == "CLOSED"
    event = TicketEvent.objects.get(ticket=movable)
    assert (event.from_status, event.to_status, event.actor) == (start, end, supervisor)
    messages = _messages(response)
    assert messages[0].startswith("1 ticket(s)")
    assert messages[1].startswith("Refused «Closed already»")
    assert "[invalid_transition]" in messages[1]


def test_escalate_action_raises_the_level(back_office):
    ticket = TicketFactory(status="OPEN")

    _action(back_office, "escalate", [ticket])

    assert Ticket.objects.get(pk=ticket.pk).escalation_level == 1


def test_assign_action_shows_an_intermediate_form(back_office):
    tickets = TicketFactory.create_batch(2)

    response = back_office.post(
        CHANGELIST, {"action": "assign_to_agent", "_selected_action": [str(t.pk) for t in tickets]}
    )

    assert response.status_code == 200
    assert response.templates[0].name == "admin/tickets/ticket/assign_agent.html"
    html = response.content.decode()
    assert 'name="apply"' in html and "admin-autocomplete" in html
    assert Ticket.objects.filter(agent__isnull=False).count() == 0


def test_assign_action_enforces_the_level_rule_per_ticket(back_office, supervisor):
    junior = UserFactory(role="AGENT", level=1)
    open_ticket = TicketFactory(status="OPEN")
    escalated = TicketFactory(status="ESCALATED", escalation_level=1, title="Hot one")

    response = _action(back_office, "assign_to_agent", [open_ticket, escalated], agent=str(junior.pk), apply="1")

    assert Ticket.objects.get(pk=open_ticket.pk).agent == junior
    assert Ticket.objects.get(pk=escalated.pk).agent is None
    assert TicketEvent.objects.get(ticket=open_ticket).kind == "assigned"
    messages = _messages(response)
    assert messages[0] == f"1 ticket(s) assigned to {junior.email}."
    assert messages[1].startswith("Refused «Hot one»") and "[agent_level_too_low]" in messages[1]


def test_assign_action_rejects_non_agents_in_the_form(back_office, supervisor):
    ticket = TicketFactory()

    response = _action(back_office, "assign_to_agent", [ticket], agent=str(supervisor.pk), apply="1")

    assert response.templates[0].name == "admin/tickets/ticket/assign_agent.html"
    assert Ticket.objects.get(pk=ticket.pk).agent is None


def test_agent_autocomplete_lists_active_agents_only(back_office):
    active = UserFactory(role="AGENT", email="active.agent@example.com")
    UserFactory(role="AGENT", email="gone.agent@example.com", is_active=False)
    UserFactory(role="SUPERVISOR", email="boss.agent@example.com")

    response = back_office.get(
        "/admin/autocomplete/", {"app_label": "tickets", "model_name": "ticket", "field_name": "agent", "term": "agent"}
    )

    assert response.status_code == 200
    assert [r["id"] for r in response.json()["results"]] == [str(active.pk)]


def test_change_form_edits_only_title_description_priority(back_office, supervisor):
    ticket = TicketFactory(title="Old title", priority=3)
    url = f"{CHANGELIST}{ticket.pk}/change/"
    page = back_office.get(url)
    assert page.status_code == 200
    assert set(page.context["adminform"].form.fields) == {"title", "description", "priority"}
    assert "Old title" in page.content.decode()

    response = back_office.post(
        url,
        {
            "title": "New title",
            "description": ticket.description,
            "priority": "1",
            "status": "CLOSED",
            "escalation_level": "3",
            "events-TOTAL_FORMS": "0",
            "events-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else None
    row = Ticket.objects.get(pk=ticket.pk)
    assert (row.title, row.priority, row.status, row.escalation_level) == ("New title", 1, "OPEN", 0)
    event = TicketEvent.objects.get(ticket=ticket)
    assert event.kind == "updated" and event.actor == supervisor
    assert event.data == {
        "changes": {"title": {"from": "Old title", "to": "New title"}, "priority": {"from": 3, "to": 1}}
    }


def test_change_form_shows_the_audit_trail(back_office, supervisor):
    ticket = TicketFactory()
    _action(back_office, "start_progress", [ticket])

    html = back_office.get(f"{CHANGELIST}{ticket.pk}/change/").content.decode()

    assert "Status changed" in html


def test_add_form_creates_through_the_service(back_office, supervisor):
    client = ClientFactory(type="VIP")

    response = back_office.post(
        f"{CHANGELIST}add/",
        {
            "client": str(client.pk),
            "title": "Phone-in",
            "description": "Caller says it's down",
            "priority": "2",
            "events-TOTAL_FORMS": "0",
            "events-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 302
    ticket = Ticket.objects.get(title="Phone-in")
    assert ticket.sla_due_at == ticket.created_at + timedelta(hours=2)
    assert TicketEvent.objects.get(ticket=ticket).actor == supervisor


def test_no_hard_delete(back_office):
    ticket = TicketFactory()

    assert back_office.get(f"{CHANGELIST}{ticket.pk}/delete/").status_code == 403
    assert "delete_selected" not in back_office.get(CHANGELIST).content.decode()


def test_supervisor_edits_sla_policy_and_clients(back_office):
    policy = SlaPolicy.objects.get(client_type="VIP")

    response = back_office.post(
        f"/admin/tickets/slapolicy/{policy.pk}/change/",
        {
            "target_hours": "4",
            "breach_action": "NOTIFY",
            "escalation_ceiling": "3",
            "warning_threshold": "0.75",
            "first_response_minutes": "30",
        },
    )
    assert response.status_code == 302
    policy.refresh_from_db()
    assert (policy.target_hours, policy.breach_action, policy.warning_threshold) == (4.0, "NOTIFY", 0.75)
    assert policy.first_response_minutes == 30
    assert back_office.get("/admin/tickets/slapolicy/add/").status_code == 403

    added = back_office.post(
        "/admin/tickets/client/add/",
        {"name": "Umbrella", "email": "Ops@Umbrella.example", "type": "VIP", "company": ""},
    )
    assert added.status_code == 302
    assert Client.objects.get(name="Umbrella").email == "ops@umbrella.example"
    assert back_office.get("/admin/tickets/client/").status_code == 200


def test_soft_deleted_ticket_is_read_only_in_the_change_form(back_office):
    # Editing a deleted ticket reached the service, whose NotFound escaped as a 500.
    ticket = TicketFactory(title="Gone", deleted_at=timezone.now())
    url = f"{CHANGELIST}{ticket.pk}/change/"

    page = back_office.get(url)
    response = back_office.post(
        url,
        {"title": "Edited", "description": ticket.description, "priority": "1", "events-TOTAL_FORMS": "0"},
    )

    assert page.status_code == 200
    assert page.context["has_change_permission"] is False
    assert response.status_code == 403
    assert Ticket.objects.get(pk=ticket.pk).title == "Gone"
