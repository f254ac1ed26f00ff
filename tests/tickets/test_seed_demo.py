import pytest
from django.core.management import CommandError, call_command

from accounts.models import User
from tests.tickets.factories import TicketFactory
from tickets.models import Client, Ticket, TicketEvent
from tickets.states import TicketStatus

pytestmark = pytest.mark.django_db


def test_seed_demo_creates_every_status_through_the_services(settings):
    settings.DEBUG = True

    call_command("seed_demo")

    assert set(Ticket.objects.values_list("status", flat=True)) == set(TicketStatus.values)
    assert User.objects.get(email="supervisor@techsupport.pro").role == "SUPERVISOR"
    assert sorted(User.objects.filter(role="AGENT").values_list("level", flat=True)) == [1, 2, 3]
    assert set(Client.objects.values_list("type", flat=True)) == {"VIP", "NORMAL"}
    # every ticket has its "created" event, and every status change left one
    assert TicketEvent.objects.filter(kind="created").count() == Ticket.objects.count()
    escalated = Ticket.objects.get(status="ESCALATED")
    assert escalated.escalation_level == 1 and escalated.agent.level >= 2
    closed_resolved = Ticket.objects.filter(status__in=["RESOLVED", "CLOSED"])
    assert all(t.resolved_at and t.resolution_time_min and t.sla_next_check_at is None for t in closed_resolved)


def test_seed_demo_is_idempotent(settings):
    settings.DEBUG = True
    call_command("seed_demo")
    counts = (User.objects.count(), Client.objects.count(), Ticket.objects.count(), TicketEvent.objects.count())

    call_command("seed_demo")

    assert (User.objects.count(), Client.objects.count(), Ticket.objects.count(), TicketEvent.objects.count()) == counts


def test_if_empty_does_nothing_when_tickets_exist(settings):
    settings.DEBUG = True
    TicketFactory()

    call_command("seed_demo", "--if-empty")

    assert Ticket.objects.count() == 1
    assert not User.objects.filter(email="supervisor@techsupport.pro").exists()


def test_refuses_the_builtin_password_without_debug(settings, monkeypatch):
    settings.DEBUG = False
    monkeypatch.delenv("SEED_DEMO_PASSWORD", raising=False)

    with pytest.raises(CommandError, match="SEED_DEMO_PASSWORD"):
        call_command("seed_demo")
    assert not Ticket.objects.exists()


def test_uses_the_password_from_the_environment(settings, monkeypatch):
    settings.DEBUG = False
    monkeypatch.setenv("SEED_DEMO_PASSWORD", "Another-Strong-Pass-9")

    call_command("seed_demo")

    assert User.objects.get(email="agent2@techsupport.pro").check_password("Another-Strong-Pass-9")
