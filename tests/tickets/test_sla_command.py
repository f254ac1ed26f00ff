"""`manage.py sla_sweep` and the periodic task that runs the same service."""

from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command

from tests.tickets.conftest import T0
from tests.tickets.factories import ClientFactory, without_first_response
from tickets import services
from tickets.models import Notification, Ticket
from tickets.states import ClientType, TicketStatus
from tickets.tasks import sla_sweep_task

pytestmark = pytest.mark.django_db

DUE = T0 + timedelta(hours=2)


@pytest.fixture
def due_tickets(desk):
    vip = ClientFactory(type=ClientType.VIP)
    normal = ClientFactory(type=ClientType.NORMAL)
    made = [
        services.ticket_create(title=f"VIP {n}", description="Down.", client=vip, actor=None, now=T0) for n in range(2)
    ]
    made.append(
        services.ticket_create(
            title="Old", description="Slow.", client=normal, actor=None, now=T0 - timedelta(hours=23)
        )
    )
    made.append(
        services.ticket_create(
            title="Young", description="Slow.", client=normal, actor=None, now=T0 - timedelta(hours=20)
        )
    )
    for ticket in made:
        without_first_response(ticket)


def _sweep(*args) -> str:
    out = StringIO()
    call_command("sla_sweep", *args, stdout=out)
    return out.getvalue()


def _lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if "duration" not in line]


def test_the_command_sweeps_as_of_now_and_prints_what_it_did(due_tickets):
    output = _sweep("--now", "2026-03-02T11:00:00Z")

    assert _lines(output) == [
        "SLA sweep as of 2026-03-02T11:00:00Z",
        "  tickets touched:   4",
        "  warnings:          1",
        "  breaches recorded: 3",
        "  breaches notified: 1",
        "  escalations:       2 (level 1: 2)",
        "  notifications:     12",
    ]
    assert output.splitlines()[-1].startswith("  duration:          ")
    assert Ticket.objects.filter(status=TicketStatus.ESCALATED).count() == 2
    assert _lines(_sweep("--now", "2026-03-02T11:00:00Z"))[1] == "  tickets touched:   0"


def test_the_dry_run_prints_the_same_and_changes_nothing(due_tickets):
    output = _sweep("--now", "2026-03-02T11:00:00Z", "--dry-run")

    assert _lines(output)[0] == "SLA sweep as of 2026-03-02T11:00:00Z (dry run: nothing changed)"
    assert _lines(output)[1:] == _lines(_sweep("--now", "2026-03-02T11:00:00Z", "--dry-run"))[1:]
    assert "  escalations:       2 (level 1: 2)" in output
    assert not Ticket.objects.filter(status=TicketStatus.ESCALATED).exists()
    assert not Notification.objects.exists()


def test_without_now_the_command_uses_the_current_time(due_tickets):
    with time_machine.travel(DUE + timedelta(minutes=1), tick=False):
        output = _sweep()

    assert _lines(output)[0] == "SLA sweep as of 2026-03-02T11:01:00Z"
    assert "  escalations:       2 (level 1: 2)" in output


@pytest.mark.parametrize("args", [["--now", "yesterday"], ["--batch-size", "0"]])
def test_bad_arguments_are_command_errors(args):
    with pytest.raises(CommandError):
        _sweep(*args)


def test_the_periodic_task_runs_a_sweep_as_of_now(due_tickets):
    with time_machine.travel(DUE + timedelta(minutes=1), tick=False):
        result = sla_sweep_task.apply().get()

    assert (result["touched"], result["escalations"], result["breach_notices"]) == (4, {"1": 2}, 1)
    assert Ticket.objects.filter(status=TicketStatus.ESCALATED, escalation_level=1).count() == 2
