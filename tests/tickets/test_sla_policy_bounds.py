"""SLA policy values are bounded on every path (admin form, service, database), and the SLA
arithmetic cannot overflow whatever a policy or a replay instant holds.

Was: a target of 100,000,000 hours saved in the admin made every NORMAL ticket creation a 500
and crashed the sweep (OverflowError past year 9999)."""

import importlib
import math
from datetime import UTC, datetime, timedelta

import pytest
from django.db import IntegrityError, connection, transaction

from accounts.services import supervisors_group_sync
from techsupport.exceptions import AppError
from tests.tickets.factories import ClientFactory, TicketFactory
from tickets import services, sla
from tickets.models import SlaPolicy, Ticket
from tickets.sweep import ESCALATION, sla_step, sla_sweep

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
VALID = {
    "target_hours": "24",
    "breach_action": "NOTIFY",
    "escalation_ceiling": "3",
    "warning_threshold": "0.8",
    "first_response_minutes": "240",
}
OUT_OF_BOUNDS = [
    ("target_hours", "100000000"),
    ("target_hours", "8760.5"),
    ("target_hours", "0"),
    ("target_hours", "-2"),
    ("target_hours", "nan"),
    ("target_hours", "inf"),
    ("warning_threshold", "1.5"),
    ("warning_threshold", "-0.1"),
    ("warning_threshold", "nan"),
    ("escalation_ceiling", "0"),
    ("escalation_ceiling", "4"),
    ("escalation_ceiling", "40000"),
    ("first_response_minutes", "0"),
    ("first_response_minutes", "525601"),
    ("first_response_minutes", "-5"),
    ("first_response_minutes", "1.5"),
]


@pytest.fixture
def back_office(supervisor, client):
    supervisor.groups.add(supervisors_group_sync())
    client.force_login(supervisor)
    return client


# --- the admin form ----------------------------------------------------------------------
@pytest.mark.parametrize(("field", "value"), OUT_OF_BOUNDS)
def test_the_admin_refuses_a_value_out_of_bounds(back_office, field, value):
    policy = SlaPolicy.objects.get(client_type="NORMAL")

    response = back_office.post(f"/admin/tickets/slapolicy/{policy.pk}/change/", {**VALID, field: value})

    assert response.status_code == 200  # the form again, with the error
    assert field in response.context["adminform"].form.errors
    policy.refresh_from_db()
    assert (policy.target_hours, policy.warning_threshold, policy.escalation_ceiling) == (24.0, 0.8, 3)


def test_the_admin_saves_the_bounds_themselves(back_office):
    policy = SlaPolicy.objects.get(client_type="NORMAL")

    response = back_office.post(
        f"/admin/tickets/slapolicy/{policy.pk}/change/",
        {
            **VALID,
            "target_hours": "8760",
            "warning_threshold": "1",
            "escalation_ceiling": "1",
            "first_response_minutes": "525600",
        },
    )

    assert response.status_code == 302
    policy.refresh_from_db()
    assert (policy.target_hours, policy.warning_threshold, policy.escalation_ceiling) == (8760.0, 1.0, 1)
    assert policy.first_response_minutes == 525600


# --- the service -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("target_hours", 1e8),
        ("target_hours", math.nan),
        ("target_hours", math.inf),
        ("target_hours", 0.0),
        ("warning_threshold", 1.01),
        ("warning_threshold", math.nan),
        ("escalation_ceiling", 0),
        ("escalation_ceiling", 4),
        ("first_response_minutes", 0),
        ("first_response_minutes", 525601),
    ],
)
def test_the_service_refuses_a_value_out_of_bounds(field, value):
    policy = SlaPolicy.objects.get(client_type="NORMAL")

    with pytest.raises(AppError) as caught:
        services.sla_policy_update(policy=policy, **{field: value})

    assert (caught.value.status, caught.value.code, list(caught.value.details)) == (400, "validation_error", [field])
    assert SlaPolicy.objects.get(pk=policy.pk).target_hours == 24.0


def test_the_service_saves_a_valid_change():
    policy = SlaPolicy.objects.get(client_type="VIP")

    saved = services.sla_policy_update(policy=policy, target_hours=4, warning_threshold=0.5)

    assert (saved.target_hours, saved.warning_threshold) == (4, 0.5)
    assert SlaPolicy.objects.get(pk=policy.pk).target_hours == 4.0


# --- the database ------------------------------------------------------------------------
@pytest.mark.postgres
@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("target_hours", "100000000"),
        ("target_hours", "'NaN'"),
        ("target_hours", "'Infinity'"),
        ("target_hours", "0"),
        ("warning_threshold", "2"),
        ("warning_threshold", "'NaN'"),
        ("escalation_ceiling", "0"),
        ("escalation_ceiling", "32767"),
        ("first_response_minutes", "0"),
        ("first_response_minutes", "525601"),
    ],
)
def test_a_raw_update_out_of_bounds_is_refused_by_the_database(column, value):
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"UPDATE tickets_slapolicy SET {column} = {value} WHERE client_type = 'NORMAL'")  # noqa: S608

    assert SlaPolicy.objects.get(client_type="NORMAL").target_hours == 24.0


def test_an_orm_update_out_of_bounds_is_refused_by_the_database():
    with pytest.raises(IntegrityError), transaction.atomic():
        SlaPolicy.objects.filter(client_type="NORMAL").update(target_hours=1e8)


@pytest.mark.parametrize(
    ("value", "low", "high", "clamped"),
    [
        (1e8, 0.01, 8760, 8760),
        (math.nan, 0.01, 8760, 8760),
        (-5, 0.01, 8760, 0.01),
        (2.0, 0.01, 8760, 2.0),
        (7, 1, 3, 3),
        (0, 1, 3, 1),
    ],
)
def test_the_migration_brings_stored_policies_inside_the_bounds(value, low, high, clamped):
    migration = importlib.import_module("tickets.migrations.0003_hardening")

    assert migration._clamp(value, low, high) == clamped


# --- the arithmetic ----------------------------------------------------------------------
@pytest.mark.parametrize("hours", [1e8, 1e20, math.inf, math.nan])
def test_a_due_time_past_what_a_datetime_holds_is_clamped(hours):
    due = sla.due_at(T0, hours)

    assert due == sla.LATEST
    assert sla.warning_at(T0, due, 0.8) < due
    assert sla.remaining_minutes(due=due, clock_running=True, now=T0) > 0


def test_the_arithmetic_clamps_at_both_ends_and_bounds_the_threshold():
    assert sla.plus_hours(datetime(1, 1, 1, 1, tzinfo=UTC), -5) == sla.EARLIEST
    assert sla.warning_at(T0, T0 + timedelta(hours=10), 5.0) == T0 + timedelta(hours=10)
    assert sla.warning_at(T0, T0 + timedelta(hours=10), math.nan) == T0 + timedelta(hours=10)
    assert sla.warning_at(T0, T0 + timedelta(hours=10), -1.0) == T0
    assert sla.warning_at(T0, sla.LATEST, 0.99) < sla.LATEST


def test_an_escalation_replayed_at_the_end_of_time_does_not_overflow():
    policy = sla.PolicyValues(target_hours=2.0, breach_action="ESCALATE")
    now = datetime(9999, 12, 31, 23, 0, tzinfo=UTC)

    step = sla_step(
        status="OPEN",
        deleted=False,
        warning=T0 + timedelta(minutes=96),
        due=T0 + timedelta(hours=2),
        breached_at=None,
        escalation_level=0,
        policy=policy,
        now=now,
    )

    assert (step.action, step.next_check_at) == (ESCALATION, sla.LATEST)


def test_a_stored_policy_past_the_bounds_never_breaks_creation_or_the_sweep(supervisor_client, monkeypatch):
    # The database refuses such a row now; a missing row falls back to DEFAULT_POLICIES, the
    # last place an unbounded value could come from.
    SlaPolicy.objects.filter(client_type="NORMAL").delete()
    huge = sla.PolicyValues(target_hours=1e8, breach_action="NOTIFY")
    monkeypatch.setitem(sla.DEFAULT_POLICIES, "NORMAL", huge)
    client = ClientFactory(type="NORMAL")

    created = supervisor_client.post(
        "/api/tickets", {"title": "Printer", "description": "Jammed", "clientId": str(client.pk)}, format="json"
    )
    result = sla_sweep(now=datetime(9999, 12, 31, 23, 0, tzinfo=UTC))

    assert created.status_code == 201
    assert created.json()["slaDueAt"] == "9999-12-31T23:59:59.999999Z"
    assert Ticket.objects.get(pk=created.json()["id"]).sla_due_at == sla.LATEST
    assert result.warnings == 1  # 80 % of the way to the end of time has passed by then
    assert supervisor_client.get(f"/api/tickets/{created.json()['id']}").status_code == 200


def test_a_vip_ticket_swept_at_the_end_of_time_is_escalated_with_no_next_check_overflow():
    ticket = TicketFactory(client=ClientFactory(type="VIP"))

    result = sla_sweep(now=datetime(9999, 12, 31, 23, 0, tzinfo=UTC))

    assert result.escalations == {1: 1}
    assert Ticket.objects.get(pk=ticket.pk).sla_next_check_at == sla.LATEST


def test_the_first_response_defaults_are_installed():
    minutes = dict(SlaPolicy.objects.values_list("client_type", "first_response_minutes"))

    assert minutes == {"VIP": 15, "NORMAL": 240}
