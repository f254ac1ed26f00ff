"""The ticket change page's triage panel: transition, assign and comment one ticket through the
services, with the outcome as admin messages; the audit trail in words."""

import pytest
from django.contrib.messages import get_messages
from django.test import Client as DjangoClient
from django.utils import timezone

from tests.accounts.factories import UserFactory
from tests.tickets.factories import TicketFactory
from tickets.models import Ticket, TicketEvent
from tickets.services import ticket_assign, ticket_change_status, ticket_comment, ticket_update

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/tickets/ticket/"


def _page(ticket) -> str:
    return f"{CHANGELIST}{ticket.pk}/change/"


def _post(browser, ticket, action: str, **data):
    return browser.post(f"{CHANGELIST}{ticket.pk}/{action}/", data, follow=True)


def _messages(response) -> list[tuple[str, str]]:
    return [(m.level_tag, str(m)) for m in get_messages(response.wsgi_request)]


@pytest.mark.parametrize(
    ("status", "buttons"),
    [
        ("OPEN", ["IN_PROGRESS", "ESCALATED"]),
        ("IN_PROGRESS", ["RESOLVED", "ESCALATED", "WAITING_CUSTOMER"]),
        ("ESCALATED", ["IN_PROGRESS", "WAITING_CUSTOMER"]),
        ("RESOLVED", ["CLOSED", "IN_PROGRESS"]),
        ("CLOSED", []),
        ("WAITING_CUSTOMER", ["IN_PROGRESS", "RESOLVED"]),
    ],
)
def test_the_panel_offers_the_transitions_of_the_table(back_office, status, buttons):
    ticket = TicketFactory(status=status)

    response = back_office.get(_page(ticket))

    assert response.status_code == 200
    assert [value for value, _ in response.context["triage"]["transitions"]] == buttons
    html = response.content.decode()
    for value in ["IN_PROGRESS", "ESCALATED", "RESOLVED", "CLOSED", "WAITING_CUSTOMER"]:
        assert (f'name="to_status" value="{value}"' in html) == (value in buttons)


def test_a_transition_goes_through_the_service_and_lands_back_on_the_page(back_office, supervisor):
    ticket = TicketFactory(status="OPEN")

    response = _post(back_office, ticket, "transition", to_status="IN_PROGRESS", seen_status="OPEN")

    assert response.redirect_chain == [(_page(ticket), 302)]
    assert Ticket.objects.get(pk=ticket.pk).status == "IN_PROGRESS"
    event = TicketEvent.objects.get(ticket=ticket)
    assert (event.kind, event.from_status, event.to_status, event.actor) == (
        "status_changed",
        "OPEN",
        "IN_PROGRESS",
        supervisor,
    )
    assert _messages(response) == [("success", "Moved to In progress.")]


def test_a_transition_the_table_refuses_is_an_error_message(back_office):
    ticket = TicketFactory(status="OPEN")

    response = _post(back_office, ticket, "transition", to_status="CLOSED", seen_status="OPEN")

    assert Ticket.objects.get(pk=ticket.pk).status == "OPEN"
    assert _messages(response) == [("error", "A ticket cannot go from OPEN to CLOSED. [invalid_transition]")]
    assert not TicketEvent.objects.filter(ticket=ticket).exists()


def test_a_button_pressed_on_a_stale_page_does_nothing(back_office):
    # The page showed OPEN; meanwhile the ticket was escalated. "→ In progress" must not
    # de-escalate it: the service compares the status under the row lock.
    ticket = TicketFactory(status="OPEN")
    ticket_change_status(ticket=ticket, to_status="ESCALATED", actor=None)

    response = _post(back_office, ticket, "transition", to_status="IN_PROGRESS", seen_status="OPEN")

    assert Ticket.objects.get(pk=ticket.pk).status == "ESCALATED"
    assert _messages(response) == [
        ("error", "The ticket has changed since you read it; reload it and decide again. [concurrent_update]")
    ]


def test_an_assignment_from_a_stale_page_does_nothing(back_office):
    senior = UserFactory(role="AGENT", level=2)
    ticket = TicketFactory(status="OPEN")
    seen_version = Ticket.objects.get(pk=ticket.pk).version
    ticket_change_status(ticket=ticket, to_status="IN_PROGRESS", actor=None)

    response = _post(back_office, ticket, "assign", agent=str(senior.pk), seen_version=str(seen_version))

    assert Ticket.objects.get(pk=ticket.pk).agent is None
    assert _messages(response)[0][1].endswith("[concurrent_update]")


def test_the_agent_picker_lists_only_agents_the_level_rule_accepts(back_office):
    junior = UserFactory(role="AGENT", level=1, email="junior@example.com")
    senior = UserFactory(role="AGENT", level=2, email="senior@example.com")
    UserFactory(role="AGENT", level=3, email="gone@example.com", is_active=False)
    UserFactory(role="SUPERVISOR", level=3, email="boss@example.com")
    open_ticket = TicketFactory(status="OPEN")
    escalated = TicketFactory(status="ESCALATED", escalation_level=1)

    def choices(ticket):
        form = back_office.get(_page(ticket)).context["triage"]["assign_form"]
        return list(form.fields["agent"].queryset)

    assert choices(open_ticket) == [senior, junior]
    assert choices(escalated) == [senior]


def test_assign_goes_through_the_service(back_office, supervisor):
    agent = UserFactory(role="AGENT", level=1, email="a1@example.com")
    ticket = TicketFactory(status="OPEN")

    response = _post(back_office, ticket, "assign", agent=str(agent.pk), seen_version=str(ticket.version))

    assert Ticket.objects.get(pk=ticket.pk).agent == agent
    event = TicketEvent.objects.get(ticket=ticket)
    assert (event.kind, event.actor, event.data["toAgentId"]) == ("assigned", supervisor, str(agent.pk))
    assert _messages(response) == [("success", "Assigned to a1@example.com.")]


def test_assigning_a_junior_to_an_escalated_ticket_is_refused_with_the_rule(back_office):
    junior = UserFactory(role="AGENT", level=1)
    ticket = TicketFactory(status="ESCALATED", escalation_level=1)

    response = _post(back_office, ticket, "assign", agent=str(junior.pk))

    assert Ticket.objects.get(pk=ticket.pk).agent is None
    assert _messages(response) == [
        ("error", "Choose one of the listed agents: an escalated ticket needs an active agent of level 2 or higher.")
    ]


def test_a_service_refusal_of_an_assignment_is_an_error_message(back_office, monkeypatch):
    # The picker was right when the page was drawn; the service (under the row lock) is the
    # authority, and its refusal reaches the supervisor with its code.
    from techsupport.exceptions import BusinessRuleViolation
    from tickets.admin import ticket_actions

    agent = UserFactory(role="AGENT", level=2)
    ticket = TicketFactory(status="OPEN")

    def refuse(**kwargs):
        raise BusinessRuleViolation("The agent does not exist, is inactive or is not an agent.", code="invalid_agent")

    monkeypatch.setattr(ticket_actions, "ticket_assign", refuse)
    response = _post(back_office, ticket, "assign", agent=str(agent.pk))

    assert _messages(response) == [
        ("error", "The agent does not exist, is inactive or is not an agent. [invalid_agent]")
    ]


def test_a_comment_is_recorded_and_shown_in_the_audit_trail(back_office, supervisor):
    ticket = TicketFactory(status="OPEN")
    updated_at = ticket.updated_at

    response = _post(back_office, ticket, "comment", text="  Called the client <b>back</b>.\nWaiting.  ")

    event = TicketEvent.objects.get(ticket=ticket)
    assert (event.kind, event.actor, event.data) == (
        "commented",
        supervisor,
        {"text": "Called the client <b>back</b>.\nWaiting."},
    )
    assert Ticket.objects.get(pk=ticket.pk).updated_at == updated_at
    assert _messages(response) == [("success", "Comment added to the audit trail.")]
    html = response.content.decode()
    assert "<p>Called the client &lt;b&gt;back&lt;/b&gt;.<br>Waiting.</p>" in html


def test_a_blank_comment_is_an_error_message(back_office):
    ticket = TicketFactory()

    response = _post(back_office, ticket, "comment", text="   ")

    assert not TicketEvent.objects.filter(ticket=ticket).exists()
    assert _messages(response) == [("error", "A comment needs 1 to 4000 characters.")]


def test_the_panel_is_absent_and_its_urls_refused_on_a_deleted_ticket(back_office):
    ticket = TicketFactory(deleted_at=timezone.now())

    page = back_office.get(_page(ticket))
    response = back_office.post(f"{CHANGELIST}{ticket.pk}/transition/", {"to_status": "IN_PROGRESS"})

    assert page.status_code == 200
    assert "triage" not in page.context
    assert response.status_code == 403
    assert Ticket.objects.get(pk=ticket.pk).status == "OPEN"


def test_panel_urls_take_posts_from_staff_only(back_office, agent):
    ticket = TicketFactory()
    outsider = DjangoClient()
    outsider.force_login(agent)

    assert back_office.get(f"{CHANGELIST}{ticket.pk}/transition/").status_code == 405
    refused = outsider.post(f"{CHANGELIST}{ticket.pk}/transition/", {"to_status": "IN_PROGRESS", "seen_status": "OPEN"})
    assert refused.status_code == 302 and refused["Location"].startswith("/admin/login/")
    assert Ticket.objects.get(pk=ticket.pk).status == "OPEN"


def test_the_audit_trail_reads_as_sentences_not_json(back_office, supervisor):
    senior = UserFactory(role="AGENT", level=2, email="senior@example.com")
    other = UserFactory(role="AGENT", level=3, email="other@example.com")
    ticket = TicketFactory(status="OPEN", title="Printer", priority=3)
    TicketEvent.objects.create(
        ticket=ticket,
        kind="created",
        to_status="OPEN",
        data={"priority": 3, "clientId": str(ticket.client_id), "slaDueAt": "2026-12-05T10:00:00+00:00"},
    )
    ticket_update(ticket=ticket, actor=supervisor, title="Printer on fire", priority=1)
    ticket_assign(ticket=ticket, agent_id=senior.pk, actor=supervisor)
    ticket_assign(ticket=ticket, agent_id=other.pk, actor=supervisor)
    ticket_change_status(ticket=ticket, to_status="ESCALATED", actor=supervisor)
    ticket_comment(ticket=ticket, text="Fire brigade called.", actor=supervisor)

    html = back_office.get(_page(ticket)).content.decode()

    for sentence in [
        "Created with priority 3; SLA due 2026-12-05 10:00 UTC.",
        "Edited: title «Printer» → «Printer on fire»; priority «3» → «1».",
        "Assigned to senior@example.com.",
        "Assigned to other@example.com (was senior@example.com).",
        "Status Open → Escalated, escalation level 1.",
        "Fire brigade called.",
    ]:
        assert sentence in html.replace("&gt;", ">").replace("&lt;", "<"), sentence
    assert '"escalationLevel"' not in html and "toAgentId" not in html
    assert "SLA due at" in html and "Next SLA check at" in html and "Resolution time (minutes)" in html


def test_an_unassignment_by_the_level_rule_reads_with_its_reason(back_office, supervisor):
    junior = UserFactory(role="AGENT", level=1, email="junior@example.com")
    ticket = TicketFactory(status="OPEN")
    ticket_assign(ticket=ticket, agent_id=junior.pk, actor=supervisor)

    ticket_change_status(ticket=ticket, to_status="ESCALATED", actor=supervisor)

    html = back_office.get(_page(ticket)).content.decode()
    assert "Unassigned from junior@example.com: level 1, the status needs 2 or higher." in html
