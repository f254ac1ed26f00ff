"""Two sweeps at the same moment on real PostgreSQL (row locks, SKIP LOCKED, threads with their
own connections): every due ticket is escalated and notified exactly once."""

import threading
from datetime import timedelta

import pytest
from django.db import connection

from tests.tickets.conftest import T0
from tests.tickets.factories import ClientFactory, without_first_response
from tickets import services
from tickets.models import Notification, Ticket, TicketEvent
from tickets.states import ClientType
from tickets.sweep import sla_sweep

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

DUE = T0 + timedelta(hours=2)


def test_two_concurrent_sweeps_never_escalate_or_notify_twice(desk):
    client = ClientFactory(type=ClientType.VIP)
    tickets = [
        without_first_response(
            services.ticket_create(title=f"VIP {n}", description="Down.", client=client, actor=None, now=T0)
        )
        for n in range(60)
    ]
    start = threading.Barrier(2)
    results, errors = [], []

    def sweep():
        try:
            start.wait(timeout=10)
            results.append(sla_sweep(now=DUE, batch_size=7))
        except Exception as exc:  # surfaced by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert sum(r.escalated for r in results) == 60
    assert sum(r.touched for r in results) == 60
    ids = [t.pk for t in tickets]
    assert set(Ticket.objects.filter(pk__in=ids).values_list("escalation_level", flat=True)) == {1}
    assert TicketEvent.objects.filter(ticket__in=ids, kind=TicketEvent.Kind.ESCALATED).count() == 60
    assert Notification.objects.count() == 60 * len(desk.escalation_recipients)
    # And a third sweep at the same instant finds nothing due.
    assert sla_sweep(now=DUE).touched == 0


def test_a_sweep_skips_a_ticket_locked_by_a_concurrent_change(desk):
    client = ClientFactory(type=ClientType.VIP)
    held = without_first_response(
        services.ticket_create(title="Held", description="Locked.", client=client, actor=None, now=T0)
    )
    free = without_first_response(
        services.ticket_create(title="Free", description="Not locked.", client=client, actor=None, now=T0)
    )
    locked, release = threading.Event(), threading.Event()

    def hold():
        from django.db import transaction

        try:
            with transaction.atomic():
                Ticket.objects.select_for_update().get(pk=held.pk)
                locked.set()
                release.wait(timeout=10)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    assert locked.wait(timeout=10)
    try:
        first = sla_sweep(now=DUE)
    finally:
        release.set()
        holder.join(timeout=10)
    second = sla_sweep(now=DUE + timedelta(minutes=1))

    assert (first.touched, second.touched) == (1, 1)
    assert set(Ticket.objects.values_list("title", "escalation_level")) == {("Held", 1), ("Free", 1)}
    assert free.pk != held.pk


def test_a_sweep_with_two_workers_applies_every_due_ticket_once(desk, django_assert_max_num_queries):
    client = ClientFactory(type=ClientType.VIP)
    tickets = [
        without_first_response(
            services.ticket_create(title=f"VIP {n}", description="Down.", client=client, actor=None, now=T0)
        )
        for n in range(40)
    ]

    result = sla_sweep(now=DUE, batch_size=3, workers=2)

    assert (result.touched, result.escalations, result.notifications) == (40, {1: 40}, 40 * 4)
    assert result.batches >= 14  # 40 rows in batches of 3, plus each loop's last, short one
    assert Ticket.objects.filter(pk__in=[t.pk for t in tickets], escalation_level=1).count() == 40
    assert TicketEvent.objects.filter(kind=TicketEvent.Kind.ESCALATED).count() == 40
    assert Notification.objects.count() == 40 * len(desk.escalation_recipients)
    # Nothing due: the first (empty) batch ends it, on this connection alone (BEGIN, SELECT, COMMIT).
    with django_assert_max_num_queries(3):
        assert sla_sweep(now=DUE, workers=2).touched == 0


def test_when_the_main_loop_stops_the_other_loops_stop_after_their_batch(desk, monkeypatch):
    """The task's soft time limit is raised in the sweep's own thread: the other loop must not go
    on through every due ticket after it; it ends with the batch it holds (one transaction)."""
    from celery.exceptions import SoftTimeLimitExceeded

    from tickets import sweep

    client = ClientFactory(type=ClientType.VIP)
    for n in range(40):
        without_first_response(
            services.ticket_create(title=f"VIP {n}", description="Down.", client=client, actor=None, now=T0)
        )
    main = threading.current_thread()
    calls = {"main": 0, "other": 0}
    batch = sweep._sweep_batch

    def timed(context, batch_size, result):
        mine = "main" if threading.current_thread() is main else "other"
        calls[mine] += 1
        if mine == "main" and calls["main"] == 3:
            raise SoftTimeLimitExceeded()
        done = batch(context, batch_size, result)
        if mine == "other":
            threading.Event().wait(0.05)  # a batch that takes a while, as under load
        return done

    monkeypatch.setattr(sweep, "_sweep_batch", timed)

    with pytest.raises(SoftTimeLimitExceeded):
        sla_sweep(now=DUE, batch_size=2, workers=2)

    # 40 due in batches of 2: the other loop alone would have taken ~18 more batches.
    assert calls["other"] <= 3, calls
    assert Ticket.objects.filter(escalation_level=1).count() < 40
    # What was done is whole: every escalated ticket has its event and its notifications.
    escalated = Ticket.objects.filter(escalation_level=1).count()
    assert TicketEvent.objects.filter(kind=TicketEvent.Kind.ESCALATED).count() == escalated
    assert Notification.objects.count() == escalated * len(desk.escalation_recipients)
