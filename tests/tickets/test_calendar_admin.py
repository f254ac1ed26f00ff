"""Business calendars in the back-office: a supervisor creates and edits them (week as one line
per day, holidays inline), the faulty day carries the error, and the SLA policy names one."""

from datetime import date

import pytest
from django.test import Client as DjangoClient

from tests.tickets.factories import ClientFactory
from tickets import services
from tickets.models import BusinessCalendar, Holiday, SlaPolicy
from tickets.states import ClientType

pytestmark = pytest.mark.django_db

ADD = "/admin/tickets/businesscalendar/add/"
WEEK = {"mon": "09:00-13:00, 14:00-18:00", "tue": "09:00-18:00", "wed": "", "thu": "", "fri": "", "sat": "", "sun": ""}
NO_HOLIDAYS = {
    "holidays-TOTAL_FORMS": "0",
    "holidays-INITIAL_FORMS": "0",
    "holidays-MIN_NUM_FORMS": "0",
    "holidays-MAX_NUM_FORMS": "1000",
}


def _form(**changes) -> dict:
    return {"name": "Madrid office", "time_zone": "Europe/Madrid", **WEEK, **NO_HOLIDAYS, **changes}


def _holidays(*rows) -> dict:
    data = {**NO_HOLIDAYS, "holidays-TOTAL_FORMS": str(len(rows))}
    for index, (day, name) in enumerate(rows):
        data[f"holidays-{index}-date"] = day
        data[f"holidays-{index}-name"] = name
    return data


def test_a_supervisor_creates_a_calendar_with_holidays(back_office):
    response = back_office.post(
        ADD, _form(**_holidays(("2026-12-25", "Christmas"), ("2026-01-06", "Epiphany")), tue="14:00-18:00, 09:00-13:00")
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    calendar = BusinessCalendar.objects.get(name="Madrid office")
    assert calendar.weekly_hours == {
        "mon": [["09:00", "13:00"], ["14:00", "18:00"]],
        "tue": [["09:00", "13:00"], ["14:00", "18:00"]],
    }
    assert sorted(calendar.holidays.values_list("date", flat=True)) == [date(2026, 1, 6), date(2026, 12, 25)]


def test_the_change_page_shows_the_week_one_line_per_day(back_office):
    calendar = services.business_calendar_create(
        name="Office", time_zone="UTC", weekly_hours={"fri": [["08:00", "12:00"], ["13:00", "24:00"]]}
    )

    page = back_office.get(f"/admin/tickets/businesscalendar/{calendar.pk}/change/").content.decode()

    assert 'value="08:00-12:00, 13:00-24:00"' in page
    assert back_office.get("/admin/tickets/businesscalendar/").status_code == 200


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"mon": "09:00-13:00, 12:00-18:00"}, "mon"),
        ({"tue": "18:00-09:00"}, "tue"),
        ({"wed": "09:00-24:30"}, "wed"),
        ({"thu": "nine to five"}, "thu"),
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
    ],
)
def test_a_faulty_day_or_zone_is_refused_with_its_error(back_office, changes, field):
    response = back_office.post(ADD, _form(**changes))

    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert not BusinessCalendar.objects.exists()


def test_a_week_without_open_hours_is_refused(back_office):
    response = back_office.post(ADD, _form(mon="", tue=""))

    assert response.status_code == 200
    assert "at least one open interval" in str(response.context["adminform"].form.non_field_errors())
    assert not BusinessCalendar.objects.exists()


def test_two_holidays_on_one_date_are_refused(back_office):
    response = back_office.post(ADD, _form(**_holidays(("2026-12-25", "Christmas"), ("2026-12-25", "Again"))))

    assert response.status_code == 200
    assert not BusinessCalendar.objects.exists()
    assert not Holiday.objects.exists()


def test_the_sla_policy_names_a_calendar_for_tickets_created_afterwards(back_office):
    calendar = services.business_calendar_create(
        name="Office", time_zone="UTC", weekly_hours={"mon": [["09:00", "17:00"]]}
    )
    policy = SlaPolicy.objects.get(client_type=ClientType.VIP)
    page = back_office.get(f"/admin/tickets/slapolicy/{policy.pk}/change/").content.decode()
    assert "calendar apply to tickets created afterwards" in page

    response = back_office.post(
        f"/admin/tickets/slapolicy/{policy.pk}/change/",
        {
            "target_hours": "2",
            "breach_action": "ESCALATE",
            "escalation_ceiling": "3",
            "warning_threshold": "0.8",
            "first_response_minutes": "15",
            "calendar": str(calendar.pk),
        },
    )

    assert response.status_code == 302
    assert SlaPolicy.objects.get(pk=policy.pk).calendar == calendar
    ticket = services.ticket_create(
        title="Down", description="All of it.", client=ClientFactory(type=ClientType.VIP), actor=None
    )
    assert ticket.sla_due_at.weekday() == 0  # Mondays only
    assert back_office.get("/admin/tickets/slapolicy/").status_code == 200


def test_a_calendar_in_use_cannot_be_deleted(admin_user):
    admin_client = DjangoClient()
    admin_client.force_login(admin_user)
    calendar = services.business_calendar_create(
        name="Office", time_zone="UTC", weekly_hours={"mon": [["09:00", "17:00"]]}
    )
    services.sla_policy_update(policy=SlaPolicy.objects.get(client_type=ClientType.VIP), calendar=calendar)

    response = admin_client.post(f"/admin/tickets/businesscalendar/{calendar.pk}/delete/", {"post": "yes"})

    assert response.status_code == 200  # "cannot delete: protected by the SLA policy"
    assert BusinessCalendar.objects.filter(pk=calendar.pk).exists()


def test_the_supervisor_may_not_delete_a_calendar(back_office):
    calendar = services.business_calendar_create(
        name="Office", time_zone="UTC", weekly_hours={"mon": [["09:00", "17:00"]]}
    )

    assert back_office.get(f"/admin/tickets/businesscalendar/{calendar.pk}/delete/").status_code == 403
