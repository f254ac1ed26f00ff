"""The first-response target: its due time at creation, what meets it (a person's status change,
assignment or comment; never the system), and the sweep's warnings and breaches for it, in the
same pass as the resolution target's.

Time is controlled by passing `now` (to `ticket_create`, the services and the sweep)."""

from datetime import timedelta

import pytest

from tests.conftest import client_for
from tests.tickets.conftest import T0
from tests.tickets.factories import ClientFactory
from tickets import services, sla
from tickets.admin.sla_badge import sla_state
from tickets.models import Notification, Ticket, TicketEvent
from tickets.states import ClientType, TicketStatus
from tickets.sweep import BREACH, NONE, WARNING, SlaStep, first_response_step, sla_sweep

pytestmark = pytest.mark.django_db

VIP_FIRST_DUE = T0 + timedelta(minutes=15)
VIP_FIRST_WARNING = T0 + timedelta(minutes=12)
VIP_WARNING = T0 + timedelta(minutes=96)
VIP_DUE = T0 + timedelta(hours=2)


def _ticket(tier=ClientType.VIP, *, agent=None):
    ticket = services.ticket_create(
        title="Printer on fire", description="Smoke.", client=ClientFactory(type=tier), actor=None, now=T0
    )
    if agent is not None:
        ticket = services.ticket_assign(ticket=ticket, agent_id=agent.pk, actor=None, now=T0)
    return Ticket.objects.get(pk=ticket.pk)


def _fresh(ticket) -> Ticket:
    return Ticket.objects.get(pk=ticket.pk)


def _notifications(ticket, kind) -> list[tuple]:
    return sorted(
        (str(n.recipient_id), n.data["target"])
        for n in Notification.objects.filter(ticket=ticket, kind=kind).only("recipient_id", "data")
    )


# --- the target ------------------------------------------------------------------------------
@pytest.mark.parametrize(("tier", "minutes"), [(ClientType.VIP, 15), (ClientType.NORMAL, 240)])
def test_create_sets_the_first_response_due_time_from_the_tier_policy(tier, minutes):
    ticket = _ticket(tier)

    assert ticket.first_response_due_at == T0 + timedelta(minutes=minutes)
    assert ticket.first_response_warning_at == T0 + timedelta(minutes=minutes * 0.8)
    assert ticket.first_responded_at is None
    assert ticket.sla_next_check_at == ticket.first_response_warning_at


# --- what meets it -------------------------------------------------------------------------------
def test_a_status_change_by_a_person_meets_it_once(supervisor):
    ticket = _ticket()

    services.ticket_change_status(
        ticket=ticket, to_status="IN_PROGRESS", actor=supervisor, now=T0 + timedelta(minutes=5)
    )
    services.ticket_change_status(ticket=ticket, to_status="RESOLVED", actor=supervisor, now=T0 + timedelta(minutes=9))

    ticket = _fresh(ticket)
    assert ticket.first_responded_at == T0 + timedelta(minutes=5)


def test_an_assigned_agents_status_change_meets_it(desk):
    ticket = _ticket(agent=desk.agent1)

    services.ticket_change_status(
        ticket=ticket, to_status="IN_PROGRESS", actor=desk.agent1, now=T0 + timedelta(minutes=3)
    )

    assert _fresh(ticket).first_responded_at == T0 + timedelta(minutes=3)


def test_an_assignment_by_a_person_meets_it(desk):
    ticket = _ticket()

    services.ticket_assign(ticket=ticket, agent_id=desk.agent1.pk, actor=desk.supervisor, now=T0 + timedelta(minutes=4))

    ticket = _fresh(ticket)
    assert ticket.first_responded_at == T0 + timedelta(minutes=4)
    # the first response no longer needs the sweep: the next check is the resolution's
    assert ticket.sla_next_check_at == VIP_WARNING


def test_a_comment_by_a_person_meets_it_and_a_later_one_changes_nothing(desk):
    ticket = _ticket()

    services.ticket_comment(ticket=ticket, text="Looking into it.", actor=desk.agent1, now=T0 + timedelta(minutes=2))
    version = _fresh(ticket).version
    services.ticket_comment(ticket=ticket, text="Still on it.", actor=desk.agent1, now=T0 + timedelta(minutes=8))

    ticket = _fresh(ticket)
    assert (ticket.first_responded_at, ticket.sla_next_check_at) == (T0 + timedelta(minutes=2), VIP_WARNING)
    assert ticket.version == version == 1
    assert TicketEvent.objects.filter(ticket=ticket, kind="commented").count() == 2


def test_the_system_never_meets_it(desk):
    ticket = _ticket(agent=desk.agent1)  # assigned by the system
    services.ticket_change_status(ticket=ticket, to_status="IN_PROGRESS", actor=None, now=T0 + timedelta(minutes=1))
    services.ticket_comment(ticket=ticket, text="Auto-reply sent.", actor=None, now=T0 + timedelta(minutes=2))

    assert _fresh(ticket).first_responded_at is None


def test_the_sweep_never_meets_it(desk):
    ticket = _ticket()

    sla_sweep(now=VIP_DUE)  # escalates (a status change by the system)

    ticket = _fresh(ticket)
    assert (ticket.status, ticket.first_responded_at) == (TicketStatus.ESCALATED, None)


# --- the sweep -------------------------------------------------------------------------------
def test_the_assigned_agent_is_warned_once_with_the_target(desk):
    ticket = _ticket(agent=desk.agent1)

    result = sla_sweep(now=VIP_FIRST_WARNING)
    again = sla_sweep(now=VIP_FIRST_WARNING + timedelta(minutes=1))

    assert (result.first_response_warnings, result.warnings, again.touched) == (1, 0, 0)
    assert _notifications(ticket, Notification.Kind.SLA_WARNING) == [(str(desk.agent1.pk), "first_response")]
    ticket = _fresh(ticket)
    assert (ticket.first_response_warned_at, ticket.sla_next_check_at) == (VIP_FIRST_WARNING, VIP_FIRST_DUE)
    event = TicketEvent.objects.get(ticket=ticket, kind=TicketEvent.Kind.SLA_WARNING)
    assert event.data == {
        "escalationLevel": 0,
        "target": "first_response",
        "firstResponseDueAt": "2026-03-02T09:15:00Z",
        "clientType": "VIP",
    }


def test_a_vip_first_response_breach_notifies_the_supervisors_and_does_not_escalate(desk):
    ticket = _ticket()
    sla_sweep(now=VIP_FIRST_WARNING)

    result = sla_sweep(now=VIP_FIRST_DUE)

    assert (result.first_response_breaches, result.escalated, result.breaches) == (1, 0, 0)
    expected = sorted((str(pk), "first_response") for pk in desk.supervisors)
    assert _notifications(ticket, Notification.Kind.SLA_BREACH) == expected
    ticket = _fresh(ticket)
    assert (ticket.status, ticket.escalation_level, ticket.version) == (TicketStatus.OPEN, 0, 1)
    assert (ticket.first_response_breached_at, ticket.sla_breached_at) == (VIP_FIRST_DUE, None)
    assert ticket.sla_next_check_at == VIP_WARNING


def test_both_targets_in_one_pass(desk):
    """A sweep that comes late (after the first response's due time and the resolution's
    warning instant): one pass breaches the first response and warns for the resolution, and
    the next check is the resolution's due time."""
    ticket = _ticket(agent=desk.agent1)
    at = VIP_WARNING + timedelta(minutes=1)

    result = sla_sweep(now=at)

    assert (result.touched, result.first_response_breaches, result.warnings) == (1, 1, 1)
    assert result.first_response_warnings == 0  # past its due time: the breach only
    assert _notifications(ticket, Notification.Kind.SLA_WARNING) == [(str(desk.agent1.pk), "resolution")]
    assert {t for _, t in _notifications(ticket, Notification.Kind.SLA_BREACH)} == {"first_response"}
    assert _fresh(ticket).sla_next_check_at == VIP_DUE
    assert sla_sweep(now=at).touched == 0


def test_the_first_response_breaches_before_the_resolution_warning_in_sequence(desk):
    ticket = _ticket()

    steps = [sla_sweep(now=instant) for instant in (VIP_FIRST_WARNING, VIP_FIRST_DUE, VIP_WARNING, VIP_DUE)]

    assert [(r.first_response_warnings, r.first_response_breaches, r.warnings, r.escalated) for r in steps] == [
        (1, 0, 0, 0),
        (0, 1, 0, 0),
        (0, 0, 1, 0),
        (0, 0, 0, 1),
    ]
    assert _fresh(ticket).escalation_level == 1


def test_a_met_first_response_is_never_warned_nor_breached(desk):
    ticket = _ticket()
    services.ticket_comment(ticket=ticket, text="On it.", actor=desk.supervisor, now=T0 + timedelta(minutes=1))

    result = sla_sweep(now=VIP_WARNING - timedelta(minutes=1))

    assert (result.touched, result.notifications) == (0, 0)


def test_a_dry_run_counts_the_first_response_too(desk):
    _ticket()

    dry = sla_sweep(now=VIP_FIRST_DUE, dry_run=True)

    assert (dry.first_response_breaches, Notification.objects.count()) == (1, 0)


@pytest.mark.parametrize(
    ("now", "warned", "responded", "expected"),
    [
        (T0, None, None, SlaStep(NONE, VIP_FIRST_WARNING)),
        (VIP_FIRST_WARNING, None, None, SlaStep(WARNING, VIP_FIRST_DUE)),
        (VIP_FIRST_WARNING, VIP_FIRST_WARNING, None, SlaStep(NONE, VIP_FIRST_DUE)),
        (VIP_FIRST_DUE, VIP_FIRST_WARNING, None, SlaStep(BREACH, None)),
        (VIP_FIRST_DUE, None, None, SlaStep(BREACH, None)),
        (VIP_FIRST_DUE, None, T0, SlaStep(NONE, None)),
    ],
)
def test_first_response_step(now, warned, responded, expected):
    step = first_response_step(
        status=TicketStatus.OPEN,
        deleted=False,
        warning=VIP_FIRST_WARNING,
        due=VIP_FIRST_DUE,
        warned_at=warned,
        responded_at=responded,
        breached_at=None,
        now=now,
    )

    assert step == expected


def test_the_next_check_is_the_earliest_pending_instant():
    assert sla.earliest(None, VIP_DUE, VIP_FIRST_DUE) == VIP_FIRST_DUE
    assert sla.earliest(None, None) is None


# --- what readers see ------------------------------------------------------------------------------
def test_api_detail_and_list_expose_the_fields_identically(desk, monkeypatch):
    answered, waiting = _ticket(), _ticket()
    services.ticket_comment(ticket=answered, text="On it.", actor=desk.supervisor, now=T0 + timedelta(minutes=3))
    monkeypatch.setattr("django.utils.timezone.now", lambda: T0 + timedelta(minutes=20))
    api = client_for(desk.supervisor)

    listed = {row["id"]: row for row in api.get("/api/tickets").json()["data"]}
    details = {str(t.pk): api.get(f"/api/tickets/{t.pk}").json() for t in (answered, waiting)}

    assert listed == details
    assert details[str(answered.pk)]["firstRespondedAt"] == "2026-03-02T09:03:00.000000Z"
    assert details[str(waiting.pk)]["firstRespondedAt"] is None
    assert {d["firstResponseDueAt"] for d in details.values()} == {"2026-03-02T09:15:00.000000Z"}


def test_the_badge_names_the_nearer_target(desk):
    ticket = _ticket()

    assert sla_state(ticket, now=T0 + timedelta(minutes=3)) == ("ok", "first response in 12m")
    services.ticket_comment(ticket=ticket, text="On it.", actor=desk.supervisor, now=T0 + timedelta(minutes=4))
    assert sla_state(_fresh(ticket), now=T0 + timedelta(minutes=5)) == ("ok", "1h 55m left")
