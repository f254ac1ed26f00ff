"""End to end on the real broker: celery-beat's database scheduler publishes the installed
`sla-sweep` entry to Redis, a real worker runs it, and a breached VIP ticket is escalated."""

import time
from datetime import timedelta

import pytest
from celery.contrib.testing.worker import start_worker
from django.core.management import call_command
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler

from config.celery import app
from tests.tickets.factories import ClientFactory, without_first_response
from tickets import services
from tickets.models import Notification, Ticket
from tickets.states import ClientType, TicketStatus

QUEUES = ["sla", "notifications", "projections"]


def _purge():
    with app.connection_for_write() as connection:
        for queue in QUEUES:
            connection.default_channel.queue_purge(queue)


@pytest.fixture
def sla_worker(settings):
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    settings.CELERY_TASK_ALWAYS_EAGER = False
    _purge()
    try:
        with start_worker(app, pool="solo", queues=QUEUES, perform_ping_check=False, shutdown_timeout=10):
            yield
    finally:
        app.conf.task_always_eager = eager
        _purge()


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_the_scheduled_sweep_escalates_a_breached_vip_ticket(sla_worker, desk):
    created = timezone.now() - timedelta(hours=2, minutes=5)
    ticket = services.ticket_create(
        title="Payments down",
        description="All of them.",
        client=ClientFactory(type=ClientType.VIP),
        actor=None,
        now=created,
    )
    ticket = without_first_response(ticket)  # the escalation alone
    call_command("setup_periodic_tasks", stdout=None)
    # Only the SLA sweep, and due now (its last run a minute and more ago).
    PeriodicTask.objects.exclude(name="sla-sweep").update(enabled=False)
    PeriodicTask.objects.filter(name="sla-sweep").update(last_run_at=timezone.now() - timedelta(minutes=2))

    scheduler = DatabaseScheduler(app=app)
    scheduler.tick()  # publishes the due entry to Redis: what `celery beat` does every tick

    deadline = time.monotonic() + 30
    ticket.refresh_from_db()
    while ticket.status != TicketStatus.ESCALATED and time.monotonic() < deadline:
        time.sleep(0.1)
        ticket.refresh_from_db()
    assert (ticket.status, ticket.escalation_level) == (TicketStatus.ESCALATED, 1)
    assert ticket.sla_breached_at == ticket.sla_due_at
    deadline = time.monotonic() + 30
    while Notification.objects.filter(email_status="pending").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert set(Notification.objects.values_list("email_status", flat=True)) == {"sent"}
    assert Notification.objects.count() == 4
    assert Ticket.objects.get(pk=ticket.pk).escalation_level == 1
