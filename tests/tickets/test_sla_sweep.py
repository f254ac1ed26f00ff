"""The SLA sweep service: warnings, breaches, the escalation ladder, idempotence, dry run.

Time is controlled by passing `now` (to `ticket_create`, the transitions and the sweep)."""

from datetime import timedelta

import pytest
from prometheus_client import REGISTRY

from reports.models import TicketLogProjection
from tests.tickets.conftest import T0
from tests.tickets.factories import ClientFactory, without_first_response
from tickets import services, sla
from tickets.models import Notification, SlaPolicy, Ticket, TicketEvent
from tickets.states import ClientType, TicketStatus
from tickets.sweep import BREACH, ESCALATION, NONE, WARNING, SlaStep, sla_step, sla_sweep

pytestmark = pytest.mark.django_db

VIP_DUE = T0 + timedelta(hours=2)
VIP_WARNING = T0 + timedelta(minutes=96)
NORMAL_DUE = T0 + timedelta(hours=24)
VIP_POLICY = sla.DEFAULT_POLICIES[ClientType.VIP]
NORMAL_POLICY = sla.DEFAULT_POLICIES[ClientType.NORMAL]


def _ticket(tier=ClientType.VIP, *, created=T0, agent=None, actor=None):
    ticket = services.ticket_create(
        title=f"{tier} printer on fire", description="Smoke.", client=ClientFactory(type=tier), actor=actor, now=created
    )
    ticket = without_first_response(ticket)  # the resolution target alone (test_first_response.py: both)
    if agent is not None:
        ticket = services.ticket_assign(ticket=ticket, agent_id=agent.pk, actor=None, now=created)
    return Ticket.objects.get(pk=ticket.pk)


def _notified(ticket, kind) -> list:
    return sorted(Notification.objects.filter(ticket=ticket, kind=kind).values_list("recipient_id", flat=True), key=str)


def _events(ticket, kind) -> list[tuple]:
    return list(
        TicketEvent.objects.filter(ticket=ticket, kind=kind)
        .order_by("id")
        .values_list("from_status", "to_status", "data__escalationLevel", "created_at")
    )


# --- the decision, as a pure function ----------------------------------------------------
def _step(now, *, status=TicketStatus.OPEN, level=0, breached_at=None, policy=VIP_POLICY, deleted=False):
    due = sla.due_at(T0, policy.target_hours)
    return sla_step(
        status=status,
        deleted=deleted,
        warning=sla.warning_at(T0, due, policy.warning_threshold),
        due=due,
        breached_at=breached_at,
        escalation_level=level,
        policy=policy,
        now=now,
    )


def test_sla_step_ladder_for_an_escalating_policy():
    assert _step(T0) == SlaStep(NONE, VIP_WARNING)
    assert _step(VIP_WARNING) == SlaStep(WARNING, VIP_DUE)
    assert _step(VIP_DUE) == SlaStep(ESCALATION, VIP_DUE + timedelta(hours=2))
    late = VIP_DUE + timedelta(minutes=7)
    assert _step(late, level=1, breached_at=VIP_DUE) == SlaStep(ESCALATION, late + timedelta(hours=2))
    assert _step(late, level=2, breached_at=VIP_DUE) == SlaStep(ESCALATION, None)  # reaches the ceiling
    assert _step(late, level=3, breached_at=VIP_DUE) == SlaStep(NONE, None)
    # Escalated by hand to the ceiling before the due time: the breach is still told once.
    assert _step(late, level=3) == SlaStep(BREACH, None)


def test_sla_step_for_a_notifying_policy_and_stopped_clocks():
    due = NORMAL_DUE
    assert _step(due, policy=NORMAL_POLICY) == SlaStep(BREACH, None)
    assert _step(due, policy=NORMAL_POLICY, breached_at=due) == SlaStep(NONE, None)
    for status in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
        assert _step(VIP_DUE, status=status) == SlaStep(NONE, None)
    assert _step(VIP_DUE, deleted=True) == SlaStep(NONE, None)


# --- warning -----------------------------------------------------------------------------
def test_the_assigned_agent_is_warned_once_at_the_threshold(desk):
    ticket = _ticket(agent=desk.agent1)

    early = sla_sweep(now=VIP_WARNING - timedelta(seconds=1))
    result = sla_sweep(now=VIP_WARNING)
    again = sla_sweep(now=VIP_WARNING + timedelta(minutes=10))

    assert early.touched == 0
    assert (result.touched, result.warnings, result.breaches, result.escalated, result.notifications) == (1, 1, 0, 0, 1)
    assert again.touched == 0
    ticket.refresh_from_db()
    assert (ticket.status, ticket.sla_next_check_at, ticket.sla_breached_at) == (TicketStatus.OPEN, VIP_DUE, None)
    assert _notified(ticket, Notification.Kind.SLA_WARNING) == [desk.agent1.pk]
    assert _events(ticket, TicketEvent.Kind.SLA_WARNING) == [("OPEN", "OPEN", 0, VIP_WARNING)]
    notification = Notification.objects.get(ticket=ticket)
    assert notification.message == (
        f"SLA warning: ticket «{ticket.title}» (VIP) is due at {VIP_DUE:%Y-%m-%d %H:%M} UTC."
    )
    assert (notification.email_status, notification.webhook_status) == ("pending", "skipped")


def test_an_unassigned_ticket_warns_the_active_supervisors(desk):
    ticket = _ticket(ClientType.NORMAL)

    result = sla_sweep(now=T0 + timedelta(hours=20))

    assert result.warnings == 1
    assert set(_notified(ticket, Notification.Kind.SLA_WARNING)) == desk.supervisors


# --- NORMAL breach: notify once, status unchanged ----------------------------------------
def test_a_normal_breach_notifies_the_supervisors_exactly_once_and_keeps_the_status(desk):
    ticket = _ticket(ClientType.NORMAL, agent=desk.agent1)
    services.ticket_change_status(ticket=ticket, to_status=TicketStatus.IN_PROGRESS, actor=None, now=T0)
    sla_sweep(now=T0 + timedelta(hours=20))  # the warning

    result = sla_sweep(now=NORMAL_DUE + timedelta(seconds=30))
    later = [sla_sweep(now=NORMAL_DUE + timedelta(hours=h)) for h in (1, 24, 24 * 30)]

    assert (result.touched, result.breaches, result.breach_notices, result.escalated) == (1, 1, 1, 0)
    assert result.notifications == 2
    assert [r.touched for r in later] == [0, 0, 0]
    ticket.refresh_from_db()
    assert (ticket.status, ticket.escalation_level) == (TicketStatus.IN_PROGRESS, 0)
    assert (ticket.sla_breached_at, ticket.sla_next_check_at) == (NORMAL_DUE, None)
    assert set(_notified(ticket, Notification.Kind.SLA_BREACH)) == desk.supervisors
    assert len(_notified(ticket, Notification.Kind.SLA_BREACH)) == 2
    assert _events(ticket, TicketEvent.Kind.SLA_BREACH) == [
        ("IN_PROGRESS", "IN_PROGRESS", 0, NORMAL_DUE + timedelta(seconds=30))
    ]
    assert not TicketLogProjection.objects.filter(ticket=ticket).exists()


# --- VIP breach: the escalation ladder ---------------------------------------------------
def test_a_vip_breach_escalates_and_notifies_senior_agents_and_supervisors(desk):
    ticket = _ticket()
    at = VIP_DUE + timedelta(seconds=20)

    result = sla_sweep(now=at)

    assert (result.touched, result.warnings, result.breaches, result.breach_notices) == (1, 0, 1, 0)
    assert result.escalations == {1: 1}
    ticket.refresh_from_db()
    assert (ticket.status, ticket.escalation_level, ticket.updated_at) == (TicketStatus.ESCALATED, 1, at)
    assert (ticket.sla_breached_at, ticket.sla_next_check_at) == (VIP_DUE, at + timedelta(hours=2))
    assert set(_notified(ticket, Notification.Kind.SLA_ESCALATION)) == desk.escalation_recipients
    assert result.notifications == len(desk.escalation_recipients) == 4
    assert _events(ticket, TicketEvent.Kind.ESCALATED) == [("OPEN", "ESCALATED", 1, at)]
    event = TicketEvent.objects.get(ticket=ticket, kind=TicketEvent.Kind.ESCALATED)
    assert event.actor_id is None
    assert event.data == {
        "escalationLevel": 1,
        "slaDueAt": "2026-03-02T11:00:00Z",
        "clientType": "VIP",
        "target": "resolution",
        "firstBreach": True,
        "reason": "sla",
    }
    assert TicketLogProjection.objects.filter(ticket=ticket).count() == 1
    message = Notification.objects.filter(ticket=ticket).first().message
    assert message == (
        f"SLA escalation to level 1: ticket «{ticket.title}» (VIP) was due at 2026-03-02 11:00 UTC "
        "and is still not resolved."
    )


def test_an_unresolved_vip_ticket_escalates_again_each_window_up_to_the_ceiling(desk):
    ticket = _ticket(agent=desk.agent3)
    first = VIP_DUE
    second = first + timedelta(hours=2)
    third = second + timedelta(hours=2)

    levels = []
    for now in (
        first,
        second - timedelta(seconds=1),
        second,
        third - timedelta(minutes=1),
        third,
        third + timedelta(days=3),
    ):
        result = sla_sweep(now=now)
        levels.append(result.escalations)

    assert levels == [{1: 1}, {}, {2: 1}, {}, {3: 1}, {}]
    ticket.refresh_from_db()
    assert (ticket.status, ticket.escalation_level, ticket.sla_next_check_at) == (TicketStatus.ESCALATED, 3, None)
    assert _events(ticket, TicketEvent.Kind.ESCALATED) == [
        ("OPEN", "ESCALATED", 1, first),
        ("ESCALATED", "ESCALATED", 2, second),
        ("ESCALATED", "ESCALATED", 3, third),
    ]
    assert Notification.objects.filter(ticket=ticket, kind=Notification.Kind.SLA_ESCALATION).count() == 3 * 4
    assert TicketLogProjection.objects.filter(ticket=ticket).count() == 3


def test_an_escalated_ticket_taken_back_in_progress_escalates_through_the_transition_table(desk):
    ticket = _ticket(agent=desk.agent2)
    sla_sweep(now=VIP_DUE)
    services.ticket_change_status(
        ticket=ticket, to_status=TicketStatus.IN_PROGRESS, actor=desk.agent2, now=VIP_DUE + timedelta(minutes=5)
    )

    result = sla_sweep(now=VIP_DUE + timedelta(hours=2))

    assert result.escalations == {2: 1}
    ticket.refresh_from_db()
    assert (ticket.status, ticket.escalation_level) == (TicketStatus.ESCALATED, 2)
    assert _events(ticket, TicketEvent.Kind.ESCALATED)[-1][:3] == ("IN_PROGRESS", "ESCALATED", 2)


def test_the_window_between_escalations_follows_the_current_policy(desk):
    ticket = _ticket()
    SlaPolicy.objects.filter(client_type=ClientType.VIP).update(target_hours=1, escalation_ceiling=2)

    sla_sweep(now=VIP_DUE)

    ticket.refresh_from_db()
    # The due time was fixed at creation (2 h); the next step uses today's policy (1 h window).
    assert (ticket.sla_due_at, ticket.sla_next_check_at) == (VIP_DUE, VIP_DUE + timedelta(hours=1))
    sla_sweep(now=VIP_DUE + timedelta(hours=1))
    ticket.refresh_from_db()
    assert (ticket.escalation_level, ticket.sla_next_check_at) == (2, None)


def test_policy_changes_apply_to_new_tickets_only(desk):
    old = _ticket(ClientType.NORMAL)
    SlaPolicy.objects.filter(client_type=ClientType.NORMAL).update(target_hours=8)

    new = _ticket(ClientType.NORMAL, created=T0 + timedelta(hours=1))

    assert old.sla_due_at == NORMAL_DUE
    assert new.sla_due_at == T0 + timedelta(hours=9)


# --- stopped clocks and reopen -----------------------------------------------------------
@pytest.mark.parametrize("path", [["RESOLVED"], ["RESOLVED", "CLOSED"]])
def test_resolved_and_closed_tickets_are_never_swept(desk, path):
    ticket = _ticket(agent=desk.agent2)
    services.ticket_change_status(ticket=ticket, to_status="IN_PROGRESS", actor=None, now=T0)
    for status in path:
        services.ticket_change_status(ticket=ticket, to_status=status, actor=None, now=T0 + timedelta(minutes=30))

    results = [sla_sweep(now=VIP_DUE + timedelta(hours=h)) for h in (0, 2, 48)]

    assert [r.touched for r in results] == [0, 0, 0]
    ticket.refresh_from_db()
    assert (ticket.escalation_level, ticket.sla_next_check_at, ticket.sla_breached_at) == (0, None, None)
    assert not Notification.objects.exists()


def test_a_deleted_ticket_is_never_swept(desk):
    ticket = _ticket()
    services.ticket_soft_delete(ticket=ticket, actor=None, now=T0 + timedelta(minutes=1))

    assert sla_sweep(now=VIP_DUE).touched == 0
    assert not Notification.objects.exists()


def test_a_reopened_ticket_keeps_its_original_due_time(desk):
    ticket = _ticket(agent=desk.agent2)
    services.ticket_change_status(ticket=ticket, to_status="IN_PROGRESS", actor=None, now=T0)
    services.ticket_change_status(ticket=ticket, to_status="RESOLVED", actor=None, now=T0 + timedelta(minutes=30))
    reopened_at = VIP_DUE + timedelta(minutes=10)

    ticket = services.ticket_change_status(ticket=ticket, to_status="IN_PROGRESS", actor=None, now=reopened_at)

    assert (ticket.sla_due_at, ticket.sla_next_check_at) == (VIP_DUE, VIP_DUE)
    result = sla_sweep(now=reopened_at + timedelta(seconds=30))
    assert result.escalations == {1: 1}
    ticket.refresh_from_db()
    assert (ticket.status, ticket.sla_due_at, ticket.sla_breached_at) == (TicketStatus.ESCALATED, VIP_DUE, VIP_DUE)


def test_a_ticket_reopened_before_its_warning_is_warned_at_the_original_instant(desk):
    ticket = _ticket(ClientType.NORMAL, agent=desk.agent1)
    services.ticket_change_status(ticket=ticket, to_status="IN_PROGRESS", actor=None, now=T0)
    services.ticket_change_status(ticket=ticket, to_status="RESOLVED", actor=None, now=T0 + timedelta(hours=1))
    services.ticket_change_status(ticket=ticket, to_status="IN_PROGRESS", actor=None, now=T0 + timedelta(hours=2))

    assert sla_sweep(now=T0 + timedelta(hours=19)).touched == 0
    assert sla_sweep(now=T0 + timedelta(hours=19, minutes=12)).warnings == 1


# --- idempotence, dry run, batches -------------------------------------------------------
def test_a_sweep_repeated_at_the_same_instant_finds_nothing_due(desk):
    for _ in range(3):
        _ticket()
    _ticket(ClientType.NORMAL, created=T0 - timedelta(hours=23))

    first = sla_sweep(now=VIP_DUE)
    second = sla_sweep(now=VIP_DUE)

    assert (first.touched, first.escalated, first.breach_notices) == (4, 3, 1)
    assert (second.touched, second.escalated, second.notifications) == (0, 0, 0)
    assert Notification.objects.count() == 3 * 4 + 2


def test_a_dry_run_reports_the_same_and_changes_nothing(desk):
    for _ in range(3):
        _ticket(agent=desk.agent1)
    _ticket(ClientType.NORMAL, created=T0 - timedelta(hours=23))
    _ticket(ClientType.NORMAL, created=T0 - timedelta(hours=20))
    before = list(Ticket.objects.order_by("id").values())
    counts = (TicketEvent.objects.count(), TicketLogProjection.objects.count())

    dry = sla_sweep(now=VIP_DUE, dry_run=True, batch_size=2)

    assert list(Ticket.objects.order_by("id").values()) == before
    assert (TicketEvent.objects.count(), TicketLogProjection.objects.count()) == counts
    assert not Notification.objects.exists()
    real = sla_sweep(now=VIP_DUE, batch_size=2)
    # Notifications: 4 escalation recipients for each of 3 tickets, 3 `unassigned` notices (agent1 is level 1),
    # the breach to 2 supervisors, the warning to 2 supervisors.
    expected = (5, 1, 1, 1, {1: 3}, 3 * 4 + 3 + 2 + 2)
    assert (dry.touched, dry.warnings, dry.breaches - 3, dry.breach_notices, dry.escalations, dry.notifications) == (
        expected
    )
    assert (real.touched, real.warnings, real.breaches - 3, real.breach_notices, real.escalations) == expected[:5]
    assert real.notifications == expected[5]
    assert (dry.dry_run, real.dry_run, dry.batches, real.batches) == (True, False, 3, 3)


def test_batches_cover_every_due_ticket(desk):
    tickets = [_ticket(created=T0 + timedelta(seconds=n)) for n in range(7)]

    result = sla_sweep(now=VIP_DUE + timedelta(minutes=1), batch_size=3)

    assert (result.touched, result.escalations, result.batches) == (7, {1: 7}, 3)
    assert Ticket.objects.filter(pk__in=[t.pk for t in tickets], escalation_level=1).count() == 7


def test_a_sweep_with_nothing_due_costs_one_query(desk, django_assert_num_queries):
    _ticket()

    # The SELECT … FOR UPDATE SKIP LOCKED, inside the savepoint the test's transaction turns the
    # batch's atomic block into (outside tests: BEGIN and COMMIT, which are not queries).
    with django_assert_num_queries(3):
        result = sla_sweep(now=T0)

    assert result.touched == 0


def test_a_batch_costs_a_constant_number_of_queries(desk, django_assert_max_num_queries):
    for n in range(10):
        _ticket(agent=desk.agent1 if n % 2 else None, created=T0 - timedelta(hours=n % 3))
    for _ in range(5):
        _ticket(ClientType.NORMAL, created=T0 - timedelta(hours=23))

    # select batch, policies, supervisors, senior agents, update, events, notifications, projections,
    # the next (empty) batch, and savepoints.
    with django_assert_max_num_queries(12):
        result = sla_sweep(now=VIP_DUE)

    assert result.touched == 15


# --- metrics -----------------------------------------------------------------------------
def _sample(name, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_metrics_count_breaches_and_escalations_after_commit(desk, django_capture_on_commit_callbacks):
    _ticket()
    _ticket(ClientType.NORMAL, created=T0 - timedelta(hours=23))
    before = (
        _sample("sla_breaches_total", tier="VIP", action="escalate"),
        _sample("sla_breaches_total", tier="NORMAL", action="notify"),
        _sample("sla_escalations_total", level="1"),
        _sample("sla_sweep_duration_seconds_count"),
    )

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        sla_sweep(now=VIP_DUE)
    assert _sample("sla_escalations_total", level="1") == before[2]  # nothing counted before the commit
    for callback in callbacks:  # the commit: deliveries (eager), projections, metrics
        callback()

    after = (
        _sample("sla_breaches_total", tier="VIP", action="escalate"),
        _sample("sla_breaches_total", tier="NORMAL", action="notify"),
        _sample("sla_escalations_total", level="1"),
        _sample("sla_sweep_duration_seconds_count"),
    )
    assert [a - b for a, b in zip(after, before, strict=True)] == [1, 1, 1, 1]


def test_escalations_are_projected_to_ticket_logs_after_commit(desk, mongo_db, django_capture_on_commit_callbacks):
    tickets = [_ticket(created=T0 + timedelta(seconds=n)) for n in range(3)]

    with django_capture_on_commit_callbacks(execute=True):
        sla_sweep(now=VIP_DUE + timedelta(minutes=1), batch_size=2)

    documents = {doc["_id"]: doc for doc in mongo_db["ticket_logs"].find({})}
    assert set(documents) == {str(t.pk) for t in tickets}
    assert {(doc["status"], doc["escalationLevel"]) for doc in documents.values()} == {("ESCALATED", 1)}
    assert set(TicketLogProjection.objects.values_list("status", flat=True)) == {"delivered"}
