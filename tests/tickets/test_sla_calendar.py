"""SLA clocks on business hours: ticket creation, reopen, the sweep's next escalation, the
per-process spec cache, and the calendar service's refusals."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from techsupport.exceptions import ValidationFailed
from tests.tickets.factories import ClientFactory
from tickets import services, sla
from tickets.models import Holiday, SlaPolicy, Ticket
from tickets.states import ClientType, TicketStatus
from tickets.sweep import sla_sweep

pytestmark = pytest.mark.django_db

MADRID = ZoneInfo("Europe/Madrid")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
FRIDAY_16 = datetime(2026, 3, 6, 16, 0, tzinfo=MADRID)


def madrid(*args) -> datetime:
    return datetime(*args, tzinfo=MADRID)


@pytest.fixture
def office():
    return services.business_calendar_create(
        name="Madrid office", time_zone="Europe/Madrid", weekly_hours={day: [["09:00", "18:00"]] for day in WEEKDAYS}
    )


def _policy(tier, calendar, **values) -> SlaPolicy:
    policy = SlaPolicy.objects.get(client_type=tier)
    return services.sla_policy_update(policy=policy, calendar=calendar, **values)


def _create(tier, now) -> Ticket:
    client = ClientFactory(type=tier)
    return services.ticket_create(title="Printer on fire", description="Smoke.", client=client, actor=None, now=now)


def test_created_on_friday_afternoon_a_four_hour_target_is_due_monday_11(office):
    _policy(ClientType.NORMAL, office, target_hours=4.0, warning_threshold=0.8)

    ticket = _create(ClientType.NORMAL, FRIDAY_16)

    assert ticket.sla_due_at == madrid(2026, 3, 9, 11, 0)
    # 80 % of the 4 open hours: 2 h on Friday, 1 h 12 min on Monday.
    assert ticket.sla_warning_at == madrid(2026, 3, 9, 10, 12)
    assert ticket.sla_next_check_at == ticket.sla_warning_at


def test_created_on_a_saturday_the_clock_starts_at_the_next_opening(office):
    _policy(ClientType.VIP, office)

    ticket = _create(ClientType.VIP, madrid(2026, 3, 7, 11, 0))

    assert ticket.sla_due_at == madrid(2026, 3, 9, 11, 0)
    assert ticket.sla_warning_at == madrid(2026, 3, 9, 10, 36)


def test_without_a_calendar_the_clock_is_24x7_as_before():
    ticket = _create(ClientType.VIP, FRIDAY_16)

    assert ticket.sla_due_at == FRIDAY_16 + timedelta(hours=2)
    assert ticket.sla_warning_at == FRIDAY_16 + timedelta(minutes=96)


def test_a_holiday_added_later_applies_to_tickets_created_afterwards(office):
    _policy(ClientType.NORMAL, office, target_hours=4.0)
    before = _create(ClientType.NORMAL, FRIDAY_16)

    Holiday.objects.create(calendar=office, date=date(2026, 3, 9), name="Local feast")
    after = _create(ClientType.NORMAL, FRIDAY_16)

    assert Ticket.objects.get(pk=before.pk).sla_due_at == madrid(2026, 3, 9, 11, 0)
    assert after.sla_due_at == madrid(2026, 3, 10, 11, 0)


def test_a_calendar_costs_no_query_per_ticket_once_its_spec_is_cached(office):
    _create(ClientType.NORMAL, FRIDAY_16)
    with CaptureQueriesContext(connection) as plain:
        _create(ClientType.NORMAL, FRIDAY_16)
    _policy(ClientType.NORMAL, office)
    _create(ClientType.NORMAL, FRIDAY_16)  # warms the spec

    with CaptureQueriesContext(connection) as with_calendar:
        _create(ClientType.NORMAL, FRIDAY_16)

    assert len(with_calendar) == len(plain)


def test_a_reopened_ticket_keeps_its_business_hours_due_time(office):
    _policy(ClientType.NORMAL, office, target_hours=4.0)
    ticket = _create(ClientType.NORMAL, FRIDAY_16)
    for status, now in (
        (TicketStatus.IN_PROGRESS, FRIDAY_16),
        (TicketStatus.RESOLVED, FRIDAY_16 + timedelta(minutes=30)),
        (TicketStatus.IN_PROGRESS, madrid(2026, 3, 9, 9, 30)),
    ):
        ticket = services.ticket_change_status(ticket=ticket, to_status=status, actor=None, now=now)

    assert ticket.sla_due_at == madrid(2026, 3, 9, 11, 0)
    assert ticket.sla_next_check_at == madrid(2026, 3, 9, 10, 12)


def test_the_next_escalation_waits_one_window_of_open_hours(desk, office):
    _policy(ClientType.VIP, office)
    ticket = _create(ClientType.VIP, FRIDAY_16)
    assert ticket.sla_due_at == madrid(2026, 3, 6, 18, 0)

    result = sla_sweep(now=madrid(2026, 3, 6, 18, 1))

    ticket.refresh_from_db()
    assert result.escalations == {1: 1}
    assert ticket.escalation_level == 1
    # Not Friday 20:01: two open hours from the sweep's instant, i.e. from Monday's opening.
    assert ticket.sla_next_check_at == madrid(2026, 3, 9, 11, 0)
    assert sla_sweep(now=madrid(2026, 3, 8, 12, 0)).touched == 0
    assert sla_sweep(now=madrid(2026, 3, 9, 11, 0)).escalations == {2: 1}


def test_sla_policy_values_carries_the_calendar_spec(office):
    assert services.sla_policy_values(ClientType.VIP).calendar is None
    _policy(ClientType.VIP, office)

    spec = services.sla_policy_values(ClientType.VIP).calendar

    assert spec.zone_name == "Europe/Madrid"
    assert spec.weekly[0] == ((9 * 60, 18 * 60),)
    assert sla.plus_hours(FRIDAY_16, 2.0, spec) == madrid(2026, 3, 6, 18, 0)


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"weekly_hours": {}}, "weekly_hours"),
        ({"weekly_hours": {"mon": [["09:00", "17:00"], ["12:00", "13:00"]]}}, "weekly_hours"),
        ({"weekly_hours": {"mon": [["09:00", "25:00"]]}}, "weekly_hours"),
        ({"time_zone": "Europe/Atlantis"}, "time_zone"),
        ({"holidays": [(date(2026, 1, 1), "New Year"), (date(2026, 1, 1), "Again")]}, "holidays"),
    ],
)
def test_an_invalid_calendar_is_refused(values, field):
    arguments = {"name": "Bad", "time_zone": "Europe/Madrid", "weekly_hours": {"mon": [["09:00", "17:00"]]}, **values}

    with pytest.raises(ValidationFailed) as caught:
        services.business_calendar_create(**arguments)

    assert caught.value.code == "invalid_calendar"
    assert field in caught.value.details


def test_a_pause_moves_the_due_time_by_the_open_hours_it_lasted(office):
    # Created Friday 16:00 with 4 open hours: due Monday 11:00. Paused from Friday 17:00 (1 open
    # hour used) to Monday 10:00: the pause covered 1 open hour on Friday and 1 on Monday.
    _policy(ClientType.NORMAL, office, target_hours=4.0)
    ticket = _create(ClientType.NORMAL, FRIDAY_16)
    for status, at in [
        (TicketStatus.IN_PROGRESS, madrid(2026, 3, 6, 16, 30)),
        (TicketStatus.WAITING_CUSTOMER, madrid(2026, 3, 6, 17, 0)),
        (TicketStatus.IN_PROGRESS, madrid(2026, 3, 9, 10, 0)),
    ]:
        ticket = services.ticket_change_status(ticket=ticket, to_status=status, actor=None, now=at)

    assert ticket.sla_due_at == madrid(2026, 3, 9, 13, 0)
    assert ticket.sla_paused_minutes == 120
    resumed = ticket.events.filter(to_status=TicketStatus.IN_PROGRESS).order_by("-created_at").first()
    assert resumed.data["pausedMinutes"] == 120
