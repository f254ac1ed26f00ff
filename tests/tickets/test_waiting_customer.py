"""WAITING_CUSTOMER: the transitions in and out, the paused SLA clock, the audit trail, the
sweep, the API fields and the open-ticket counts.

Time is controlled by passing `now` (to `ticket_create`, the transitions and the sweep)."""

from datetime import timedelta

import pytest

from reports.models import TicketLogProjection
from tests.conftest import client_for
from tests.tickets.conftest import T0
from tests.tickets.factories import ClientFactory, without_first_response
from tickets import services, sla
from tickets.admin.sla_badge import sla_state
from tickets.models import Notification, Ticket, TicketEvent
from tickets.selectors import ticket_open_summary
from tickets.states import ClientType, TicketStatus, allowed_targets
from tickets.sweep import sla_sweep

pytestmark = pytest.mark.django_db

WAITING = TicketStatus.WAITING_CUSTOMER
VIP_DUE = T0 + timedelta(hours=2)
VIP_WARNING = T0 + timedelta(minutes=96)


def _ticket(tier=ClientType.VIP, *, status=TicketStatus.IN_PROGRESS, at=T0, first_response=False):
    """A ticket moved by the system (no first response); without a first-response target unless
    `first_response` (the resolution target alone, in most of these tests)."""
    ticket = services.ticket_create(
        title="Printer on fire", description="Smoke.", client=ClientFactory(type=tier), actor=None, now=T0
    )
    if not first_response:
        ticket = without_first_response(ticket)
    if status != TicketStatus.OPEN:
        ticket = services.ticket_change_status(ticket=ticket, to_status=status, actor=None, now=at)
    return Ticket.objects.get(pk=ticket.pk)


def _move(ticket, to_status, now):
    services.ticket_change_status(ticket=ticket, to_status=to_status, actor=None, now=now)
    return Ticket.objects.get(pk=ticket.pk)


# --- the transition table ------------------------------------------------------------------
def test_the_table_enters_from_in_progress_and_escalated_and_leaves_to_in_progress_or_resolved():
    assert WAITING in allowed_targets(TicketStatus.IN_PROGRESS)
    assert WAITING in allowed_targets(TicketStatus.ESCALATED)
    assert WAITING not in allowed_targets(TicketStatus.OPEN)
    assert allowed_targets(WAITING) == (TicketStatus.IN_PROGRESS, TicketStatus.RESOLVED)


@pytest.mark.parametrize("start", [TicketStatus.IN_PROGRESS, TicketStatus.ESCALATED])
@pytest.mark.parametrize("leave_to", [TicketStatus.IN_PROGRESS, TicketStatus.RESOLVED])
def test_in_and_out(start, leave_to):
    ticket = _ticket(status=start)

    waiting = _move(ticket, WAITING, T0 + timedelta(minutes=10))
    left = _move(waiting, leave_to, T0 + timedelta(minutes=40))

    assert (waiting.status, left.status) == (WAITING, leave_to)
    assert left.sla_paused_at is None


@pytest.mark.parametrize(
    ("start", "to_status"),
    [(TicketStatus.OPEN, WAITING), (WAITING, TicketStatus.ESCALATED), (WAITING, TicketStatus.CLOSED)],
)
def test_other_moves_are_409_invalid_transition(supervisor, start, to_status):
    ticket = _ticket(status=TicketStatus.OPEN)
    if start == WAITING:
        ticket = _move(_move(ticket, TicketStatus.IN_PROGRESS, T0), WAITING, T0)

    response = client_for(supervisor).patch(f"/api/tickets/{ticket.pk}/status", {"status": to_status}, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"
    assert response.json()["details"]["allowed"] == list(allowed_targets(start))


# --- the paused clock ------------------------------------------------------------------------
def test_pause_stops_the_clock_and_resume_moves_due_and_warning_by_the_paused_time():
    ticket = _ticket()
    paused_at = T0 + timedelta(minutes=30)

    waiting = _move(ticket, WAITING, paused_at)
    assert (waiting.sla_paused_at, waiting.sla_next_check_at) == (paused_at, None)
    assert (waiting.sla_due_at, waiting.sla_warning_at) == (VIP_DUE, VIP_WARNING)

    resumed = _move(waiting, TicketStatus.IN_PROGRESS, paused_at + timedelta(minutes=45))

    assert resumed.sla_due_at == VIP_DUE + timedelta(minutes=45)
    assert resumed.sla_warning_at == VIP_WARNING + timedelta(minutes=45)
    assert resumed.sla_next_check_at == VIP_WARNING + timedelta(minutes=45)
    assert (resumed.sla_paused_at, resumed.sla_paused_next_check_at, resumed.sla_paused_minutes) == (None, None, 45)


def test_resume_moves_an_unmet_first_response_too_and_the_next_check_is_the_earliest(desk):
    ticket = _ticket(first_response=True)  # VIP: first response due at 15 min, warned at 12

    waiting = _move(ticket, WAITING, T0 + timedelta(minutes=5))
    resumed = _move(waiting, TicketStatus.IN_PROGRESS, T0 + timedelta(minutes=65))

    assert resumed.first_response_due_at == T0 + timedelta(minutes=75)
    assert resumed.first_response_warning_at == T0 + timedelta(minutes=72)
    assert resumed.sla_resolution_check_at == VIP_WARNING + timedelta(hours=1)
    assert resumed.sla_next_check_at == T0 + timedelta(minutes=72)
    assert sla_sweep(now=T0 + timedelta(minutes=72)).first_response_warnings == 1


def test_two_pauses_add_up():
    ticket = _ticket()
    ticket = _move(
        _move(ticket, WAITING, T0 + timedelta(minutes=10)), TicketStatus.IN_PROGRESS, T0 + timedelta(minutes=20)
    )
    ticket = _move(
        _move(ticket, WAITING, T0 + timedelta(minutes=30)), TicketStatus.IN_PROGRESS, T0 + timedelta(minutes=35)
    )

    assert ticket.sla_due_at == VIP_DUE + timedelta(minutes=15)
    assert ticket.sla_paused_minutes == 15


def test_the_audit_trail_records_the_pause_and_the_resume():
    ticket = _ticket()
    _move(_move(ticket, WAITING, T0 + timedelta(minutes=30)), TicketStatus.IN_PROGRESS, T0 + timedelta(minutes=75))

    pause, resume = (
        TicketEvent.objects.filter(ticket=ticket, kind=TicketEvent.Kind.STATUS_CHANGED)
        .exclude(from_status=TicketStatus.OPEN)
        .order_by("id")
    )

    assert (pause.from_status, pause.to_status) == (TicketStatus.IN_PROGRESS, WAITING)
    assert pause.data == {"escalationLevel": 0, "slaClock": "paused", "slaRemainingMinutes": 90}
    assert (resume.from_status, resume.to_status) == (WAITING, TicketStatus.IN_PROGRESS)
    assert resume.data == {
        "escalationLevel": 0,
        "slaClock": "resumed",
        "pausedMinutes": 45.0,
        "slaDueAt": "2026-03-02T11:45:00Z",
    }


def test_resolving_from_waiting_is_judged_against_the_moved_due_time():
    ticket = _move(_ticket(), WAITING, T0 + timedelta(minutes=30))

    resolved = _move(ticket, TicketStatus.RESOLVED, VIP_DUE + timedelta(minutes=30))  # paused 2 h

    assert resolved.sla_due_at == VIP_DUE + timedelta(hours=2)
    assert (resolved.sla_breached_at, resolved.sla_next_check_at) == (None, None)


def test_a_ticket_paused_after_its_due_time_keeps_its_breach():
    ticket = _ticket(tier=ClientType.NORMAL)

    waiting = _move(ticket, WAITING, T0 + timedelta(hours=25))

    assert waiting.sla_breached_at == T0 + timedelta(hours=24)


# --- the sweep -------------------------------------------------------------------------------
def test_the_sweep_ignores_a_paused_ticket(desk):
    ticket = _move(_ticket(), WAITING, T0 + timedelta(minutes=30))

    result = sla_sweep(now=VIP_DUE + timedelta(hours=5))

    assert result.touched == 0
    assert not Notification.objects.filter(ticket=ticket).exists()
    assert Ticket.objects.get(pk=ticket.pk).status == WAITING


def test_the_sweep_acts_on_a_resumed_ticket_at_its_moved_instants(desk):
    ticket = _move(_ticket(), WAITING, T0 + timedelta(minutes=30))
    _move(ticket, TicketStatus.IN_PROGRESS, T0 + timedelta(minutes=90))  # paused 1 h

    assert sla_sweep(now=VIP_WARNING + timedelta(minutes=1)).touched == 0
    assert sla_sweep(now=VIP_WARNING + timedelta(hours=1)).warnings == 1
    assert sla_sweep(now=VIP_DUE + timedelta(minutes=30)).touched == 0
    assert sla_sweep(now=VIP_DUE + timedelta(hours=1)).escalated == 1


def test_a_resumed_escalated_ticket_waits_out_the_rest_of_its_window(desk):
    """Escalated by the sweep at the due time, paused 30 min later for an hour: the next
    escalation is one window after the first plus the hour, not at once."""
    ticket = _ticket()
    sla_sweep(now=VIP_DUE)
    ticket = _move(Ticket.objects.get(pk=ticket.pk), WAITING, VIP_DUE + timedelta(minutes=30))
    resumed = _move(ticket, TicketStatus.IN_PROGRESS, VIP_DUE + timedelta(minutes=90))

    assert resumed.sla_next_check_at == VIP_DUE + timedelta(hours=3)
    assert sla_sweep(now=VIP_DUE + timedelta(minutes=91)).touched == 0
    assert sla_sweep(now=VIP_DUE + timedelta(hours=3)).escalated == 1


# --- what readers see --------------------------------------------------------------------------
def test_api_freezes_the_remaining_minutes_while_paused(supervisor, monkeypatch):
    ticket = _move(_ticket(), WAITING, T0 + timedelta(minutes=30))
    monkeypatch.setattr("django.utils.timezone.now", lambda: VIP_DUE + timedelta(hours=3))
    api = client_for(supervisor)

    detail = api.get(f"/api/tickets/{ticket.pk}").json()
    [listed] = api.get("/api/tickets", {"status": "WAITING_CUSTOMER"}).json()["data"]

    assert (detail["status"], detail["slaBreached"], detail["slaRemainingMinutes"]) == (WAITING, False, 90)
    assert listed == detail


def test_the_badge_says_paused():
    ticket = _move(_ticket(), WAITING, T0 + timedelta(minutes=30))

    assert sla_state(ticket, now=VIP_DUE + timedelta(hours=3)) == ("paused", "paused, 1h 30m left")


def test_a_waiting_ticket_counts_as_open_on_the_dashboard():
    _move(_ticket(), WAITING, T0 + timedelta(minutes=30))
    _move(_ticket(), TicketStatus.RESOLVED, T0 + timedelta(minutes=30))

    summary = ticket_open_summary(now=VIP_DUE + timedelta(hours=3))

    assert summary == [{"clientType": "VIP", "status": WAITING, "tickets": 1, "breached": 0, "atRisk": 0}]


def test_entering_waiting_is_projected_to_the_reports(django_capture_on_commit_callbacks, mongo_db):
    ticket = _ticket()

    with django_capture_on_commit_callbacks(execute=True):
        _move(ticket, WAITING, T0 + timedelta(minutes=30))

    assert TicketLogProjection.objects.filter(ticket_id=ticket.pk).count() == 1
    assert [d["status"] for d in mongo_db["ticket_logs"].find()] == [WAITING]


def test_remaining_minutes_is_frozen_at_the_pause():
    paused = T0 + timedelta(minutes=30)

    frozen = sla.remaining_minutes(due=VIP_DUE, clock_running=False, now=VIP_DUE + timedelta(days=3), paused_at=paused)

    assert frozen == 90
