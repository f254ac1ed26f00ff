"""The SLA sweep: applies every SLA action that is due, in batches, set-based.

`Ticket.sla_next_check_at` is the instant of a ticket's next SLA action (warning, breach,
next escalation), NULL while its clock is stopped. A sweep takes the due rows in batches
(`sla_next_check_at <= now`, ordered by it, `FOR UPDATE SKIP LOCKED`), decides each ticket's
step from its data and its tier's policy (`sla_step`, a pure function), and writes the batch
with a handful of statements: one UPDATE of the tickets, one INSERT of events, one of
notifications, one of projection outbox rows. Every applied step moves `sla_next_check_at`
past `now` (or to NULL), so a sweep repeated at the same instant finds nothing due, and two
concurrent sweeps never take the same row: idempotence comes from the data.
See docs/adr/0006-sla-sweep.md.
"""

import functools
import logging
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.db.models.expressions import RawSQL

from accounts.models import User
from accounts.roles import Role
from techsupport.pgcopy import NULL, CopyRows, copy_text
from tickets import metrics, sla
from tickets.auto_assign import tickets_auto_assign
from tickets.models import Notification, SlaPolicy, Ticket, TicketEvent
from tickets.notifications import NotificationRows, notifications_publish_on_commit
from tickets.services import ESCALATED_MIN_AGENT_LEVEL, agent_level_too_low, escalation_unassign, transition_move
from tickets.signals import tickets_changed
from tickets.states import CLOCK_STOPPED, TicketStatus, can_transition

logger = logging.getLogger(__name__)

WARNING, BREACH, ESCALATION, NONE = "warning", "breach", "escalation", "none"
ESCALATE, NOTIFY = SlaPolicy.BreachAction.ESCALATE, SlaPolicy.BreachAction.NOTIFY
# The columns a step may change; the same list for every row of a batch.
_SWEPT_FIELDS = [
    "status",
    "agent",
    "updated_at",
    "escalation_level",
    "sla_breached_at",
    "sla_next_check_at",
    "version",
    "sla_resolution_check_at",
    "first_response_warned_at",
    "first_response_breached_at",
]
FIRST_RESPONSE, RESOLUTION = sla.TARGET_FIRST_RESPONSE, sla.TARGET_RESOLUTION
# The same columns as attributes, in the order of the UPDATE's arrays (after the row and the id).
_UPDATED_ATTNAMES = [Ticket._meta.get_field(name).attname for name in _SWEPT_FIELDS]


@dataclass(frozen=True)
class SlaStep:
    action: str  # WARNING, BREACH, ESCALATION or NONE
    next_check_at: datetime | None


def sla_step(
    *,
    status: str,
    deleted: bool,
    warning: datetime | None,
    due: datetime | None,
    breached_at: datetime | None,
    escalation_level: int,
    policy: sla.PolicyValues,
    now: datetime,
) -> SlaStep:
    """What a sweep at `now` does to a ticket whose SLA check is due, and when to look again.

    - Clock stopped (RESOLVED, CLOSED, deleted) or no due time: nothing, never again.
    - Before the ticket's warning instant (`sla_warning_at`, fixed when its clock started):
      nothing until then. No warning instant: no warning.
    - Between the warning instant and the due time: warn; next check at the due time.
    - At or past the due time, ESCALATE policy: escalate while the level is below the policy's
      ceiling, next check one policy window later (of the policy calendar's open hours, if it has
      one; or never, at the ceiling); a first breach
      that finds the ceiling already reached notifies instead.
    - At or past the due time, NOTIFY policy: notify once (the first breach); never again.

    Every `next_check_at` returned is None or later than `now`: a repeated sweep at the same
    instant finds nothing due.
    """
    if deleted or status in CLOCK_STOPPED or due is None:
        return SlaStep(NONE, None)
    if warning is not None and now < warning:
        return SlaStep(NONE, warning)
    if now < due:
        return SlaStep(NONE if warning is None else WARNING, due)
    if policy.breach_action == ESCALATE and escalation_level < policy.escalation_ceiling:
        reached_ceiling = escalation_level + 1 >= policy.escalation_ceiling
        window_end = None if reached_ceiling else sla.plus_hours(now, policy.target_hours, policy.calendar)
        return SlaStep(ESCALATION, window_end)
    if breached_at is None:
        return SlaStep(BREACH, None)
    return SlaStep(NONE, None)


def first_response_step(
    *,
    status: str,
    deleted: bool,
    warning: datetime | None,
    due: datetime | None,
    warned_at: datetime | None,
    responded_at: datetime | None,
    breached_at: datetime | None,
    now: datetime,
) -> SlaStep:
    """The first-response target's step at `now`, and its next pending instant.

    - Clock stopped or paused, no target, already met or already breached: nothing, never again.
    - Before its warning instant (not sent yet): nothing until then.
    - Between the warning instant and the due time: warn once (`warned_at` records it); next
      check at the due time.
    - At or past the due time: breach (notify; never an escalation, whatever the tier); never
      again.
    """
    if deleted or status in CLOCK_STOPPED or due is None or responded_at is not None or breached_at is not None:
        return SlaStep(NONE, None)
    unwarned = warning is not None and warned_at is None
    if unwarned and now < warning:
        return SlaStep(NONE, warning)
    if now < due:
        return SlaStep(WARNING if unwarned else NONE, due)
    return SlaStep(BREACH, None)


@dataclass
class SweepResult:
    now: datetime
    dry_run: bool = False
    touched: int = 0  # tickets whose SLA check was due (acted on or rescheduled)
    warnings: int = 0
    breaches: int = 0  # tickets whose breach was recorded by this sweep (both policies)
    breach_notices: int = 0  # tickets whose breach was notified (kind sla_breach)
    escalations: dict[int, int] = field(default_factory=dict)  # level reached → tickets
    auto_assigned: int = 0  # escalated tickets given to an agent by auto-assignment (not in a dry run)
    first_response_warnings: int = 0
    first_response_breaches: int = 0
    notifications: int = 0
    batches: int = 0
    duration_s: float = 0.0

    @property
    def escalated(self) -> int:
        return sum(self.escalations.values())

    def as_dict(self) -> dict:
        data = asdict(self)
        data["now"] = self.now.isoformat()
        data["escalations"] = {str(level): count for level, count in sorted(self.escalations.items())}
        return data


class _SweepContext:
    """What every batch of one sweep needs, read once and only when a batch has rows: the
    policies (with their calendars' specs) and the standing recipients (supervisors, senior
    agents)."""

    def __init__(self, now: datetime):
        self.now = now
        self._policies: dict[str, sla.PolicyValues] | None = None
        self._supervisors: list[User] | None = None
        self._seniors: list[User] | None = None

    def policy(self, client_type: str) -> sla.PolicyValues:
        if self._policies is None:
            self._policies = dict(sla.DEFAULT_POLICIES)
            rows = SlaPolicy.objects.select_related("calendar")
            self._policies.update({row.client_type: row.as_values() for row in rows})
        return self._policies[client_type]

    def supervisors(self) -> list[User]:
        if self._supervisors is None:
            self._supervisors = list(
                User.objects.filter(role=Role.SUPERVISOR, is_active=True).only("id", "email").order_by("email")
            )
        return self._supervisors

    def escalation_recipients(self) -> list[User]:
        """Active agents of level 2+ and active supervisors."""
        if self._seniors is None:
            self._seniors = list(
                User.objects.filter(role=Role.AGENT, is_active=True, level__gte=ESCALATED_MIN_AGENT_LEVEL)
                .only("id", "email")
                .order_by("email")
            )
        return self._seniors + self.supervisors()


# The columns of the events a sweep writes (the id is the database's).
_EVENT_FIELDS = ["ticket_id", "actor_id", "kind", "from_status", "to_status", "data", "created_at"]


@dataclass
class _BatchPlan:
    """What one batch writes besides its tickets: rows built as COPY text, not model instances
    (techsupport/pgcopy.py), and the counts its metrics take on commit."""

    events: CopyRows = field(default_factory=lambda: CopyRows(TicketEvent, _EVENT_FIELDS))
    notifications: NotificationRows = field(default_factory=NotificationRows)
    escalated: list[Ticket] = field(default_factory=list)
    breaches: Counter = field(default_factory=Counter)  # (tier, action) → tickets
    escalation_levels: Counter = field(default_factory=Counter)  # level → tickets
    transitions: Counter = field(default_factory=Counter)  # (from status, to status) → tickets

    def event(self, ticket: Ticket, *, kind: str, from_status: str, now: datetime, data: dict) -> None:
        """A system event (no actor) to `ticket.status`."""
        if not self.events.as_text:
            self.events.add((ticket.pk, None, kind, from_status, ticket.status, data, now))
            return
        statuses = f"{copy_text(from_status)}\t{copy_text(ticket.status)}"
        line = f"{ticket.pk}\t{NULL}\t{copy_text(kind)}\t{statuses}\t{copy_text(data)}\t{copy_text(now)}"
        self.events.add_lines([line])


def _iso(instant: datetime) -> str:
    return instant.isoformat().replace("+00:00", "Z")


def _message(kind: str, ticket: Ticket, level: int) -> str:
    due = ticket.sla_due_at.strftime("%Y-%m-%d %H:%M UTC")
    name = f"«{ticket.title}» ({ticket.client_type})"
    if kind == Notification.Kind.SLA_WARNING:
        return f"SLA warning: ticket {name} is due at {due}."
    if kind == Notification.Kind.SLA_BREACH:
        return f"SLA breached: ticket {name} was due at {due} and is not resolved."
    return f"SLA escalation to level {level}: ticket {name} was due at {due} and is still not resolved."


def _resolution_step(ticket: Ticket, policy: sla.PolicyValues, now: datetime) -> SlaStep:
    """`sla_step` when the resolution target's own check is due; else nothing until it."""
    check = ticket.resolution_check_at
    if check is None or check > now:
        return SlaStep(NONE, check)
    return sla_step(
        status=ticket.status,
        deleted=ticket.deleted_at is not None,
        warning=ticket.sla_warning_at,
        due=ticket.sla_due_at,
        breached_at=ticket.sla_breached_at,
        escalation_level=ticket.escalation_level,
        policy=policy,
        now=now,
    )


def _first_response_step(ticket: Ticket, now: datetime) -> SlaStep:
    return first_response_step(
        status=ticket.status,
        deleted=ticket.deleted_at is not None,
        warning=ticket.first_response_warning_at,
        due=ticket.first_response_due_at,
        warned_at=ticket.first_response_warned_at,
        responded_at=ticket.first_responded_at,
        breached_at=ticket.first_response_breached_at,
        now=now,
    )


def _steps(tickets: list[Ticket], context: _SweepContext) -> list[tuple[Ticket, sla.PolicyValues, SlaStep, SlaStep]]:
    """Each ticket's step per target: (ticket, policy, resolution step, first-response step)."""
    steps = []
    for ticket in tickets:
        policy = context.policy(ticket.client_type)
        steps.append(
            (ticket, policy, _resolution_step(ticket, policy, context.now), _first_response_step(ticket, context.now))
        )
    return steps


def _agents_of(steps) -> dict:
    """The assigned agents of the tickets to warn (the recipients) and to escalate (the level
    rule), in one query."""
    agent_ids = {
        t.agent_id for t, _, s, f in steps if (s.action in (WARNING, ESCALATION) or f.action == WARNING) and t.agent_id
    }
    if not agent_ids:
        return {}
    return {user.pk: user for user in User.objects.filter(pk__in=agent_ids).only("id", "email", "level", "is_active")}


def _breach_record(ticket: Ticket, policy: sla.PolicyValues, plan: _BatchPlan, result: SweepResult, data: dict):
    """The breach happened at the due time; the event records when the sweep saw it."""
    ticket.sla_breached_at = ticket.sla_due_at
    plan.breaches[(ticket.client_type, policy.breach_action)] += 1
    result.breaches += 1
    data["firstBreach"] = True


def _step_event(ticket: Ticket, step: SlaStep, agent, context, plan: _BatchPlan, result, data: dict):
    """Applies the step's change to the ticket and adds its event; returns (notification kind,
    recipients)."""
    now = context.now
    if step.action == WARNING:
        result.warnings += 1
        recipients = [agent] if agent is not None and agent.is_active else context.supervisors()
        _event(plan, ticket, kind=TicketEvent.Kind.SLA_WARNING, now=now, data=data)
        return Notification.Kind.SLA_WARNING, recipients
    if step.action == BREACH:
        result.breach_notices += 1
        ticket.version += 1  # the breach is recorded on the ticket; a warning changes nothing on it
        _event(plan, ticket, kind=TicketEvent.Kind.SLA_BREACH, now=now, data=data)
        return Notification.Kind.SLA_BREACH, context.supervisors()
    data["reason"] = "sla"
    _escalate(ticket, plan, now=now, kind=TicketEvent.Kind.ESCALATED, data=data)
    plan.escalated.append(ticket)
    plan.escalation_levels[ticket.escalation_level] += 1
    result.escalations[ticket.escalation_level] = result.escalations.get(ticket.escalation_level, 0) + 1
    return Notification.Kind.SLA_ESCALATION, context.escalation_recipients()


def _plan_batch(tickets: list[Ticket], context: _SweepContext, result: SweepResult) -> _BatchPlan:
    """Decides and applies each ticket's step *in memory* (the instances are changed, nothing
    is written) and collects the rows to insert. Shared by the sweep and its dry run."""
    plan = _BatchPlan()
    steps = _steps(tickets, context)
    agents = _agents_of(steps)
    for ticket, policy, step, first in steps:
        result.touched += 1
        if ticket.first_response_due_at is not None:
            ticket.sla_resolution_check_at = step.next_check_at
        ticket.sla_next_check_at = sla.earliest(step.next_check_at, first.next_check_at)
        agent = agents.get(ticket.agent_id)
        if first.action != NONE:
            _first_response_plan(ticket, first, agent, context, plan, result)
        if step.action == NONE:
            continue
        data = {"slaDueAt": _iso(ticket.sla_due_at), "clientType": ticket.client_type, "target": RESOLUTION}
        if step.action in (BREACH, ESCALATION) and ticket.sla_breached_at is None:
            _breach_record(ticket, policy, plan, result, data)
        kind, recipients = _step_event(ticket, step, agent, context, plan, result, data)
        plan.notifications.add(
            ticket_id=ticket.pk,
            kind=kind,
            recipients=recipients,
            message=_message(kind, ticket, ticket.escalation_level),
            data={**data, "escalationLevel": ticket.escalation_level, "status": ticket.status},
            now=context.now,
        )
        if step.action == ESCALATION and agent is not None and agent_level_too_low(agent, ticket.status):
            unassigned_event, notification = escalation_unassign(ticket, agent, actor=None, now=context.now)
            plan.events.add_instance(unassigned_event)
            plan.notifications.add_instance(notification)
    result.notifications += len(plan.notifications)
    return plan


def _first_response_plan(ticket: Ticket, step: SlaStep, agent, context, plan: _BatchPlan, result: SweepResult):
    """The first-response target's warning (to the assigned agent, else the supervisors) or
    breach (to the supervisors; recorded at the due time), applied in memory like `_step_event`."""
    now = context.now
    data = {
        "target": FIRST_RESPONSE,
        "firstResponseDueAt": _iso(ticket.first_response_due_at),
        "clientType": ticket.client_type,
    }
    if step.action == WARNING:
        ticket.first_response_warned_at = now
        result.first_response_warnings += 1
        kind, recipients = Notification.Kind.SLA_WARNING, [agent] if agent is not None and agent.is_active else None
        recipients = recipients or context.supervisors()
    else:
        ticket.first_response_breached_at = ticket.first_response_due_at
        result.first_response_breaches += 1
        plan.breaches[(ticket.client_type, FIRST_RESPONSE.upper())] += 1
        kind, recipients = Notification.Kind.SLA_BREACH, context.supervisors()
    _event(plan, ticket, kind=kind, now=now, data=data)
    plan.notifications.add(
        ticket_id=ticket.pk,
        kind=kind,
        recipients=recipients,
        message=_first_response_message(kind, ticket),
        data={**data, "escalationLevel": ticket.escalation_level, "status": ticket.status},
        now=now,
    )


def _first_response_message(kind: str, ticket: Ticket) -> str:
    due = ticket.first_response_due_at.strftime("%Y-%m-%d %H:%M UTC")
    name = f"«{ticket.title}» ({ticket.client_type})"
    if kind == Notification.Kind.SLA_WARNING:
        return f"First-response warning: ticket {name} needs a first response by {due}."
    return f"First response breached: ticket {name} had no response by {due}."


def _event(plan: _BatchPlan, ticket: Ticket, *, kind: str, now: datetime, data: dict) -> None:
    """An SLA event that leaves the status as it is."""
    data = {"escalationLevel": ticket.escalation_level, **data}
    plan.event(ticket, kind=kind, from_status=ticket.status, now=now, data=data)


def _escalate(ticket: Ticket, plan: _BatchPlan, *, now: datetime, kind: str, data: dict) -> None:
    if can_transition(ticket.status, TicketStatus.ESCALATED):
        # `transition_apply`'s change and event; its metric is counted once for the batch.
        from_status, clock = transition_move(ticket, TicketStatus.ESCALATED, now=now)
        plan.transitions[(from_status, ticket.status)] += 1
        data = {"escalationLevel": ticket.escalation_level, **clock, **data}
        plan.event(ticket, kind=kind, from_status=from_status, now=now, data=data)
        return
    # Already ESCALATED: the table has no ESCALATED→ESCALATED; a re-escalation is a level
    # change recorded as an escalation event without a status transition.
    ticket.escalation_level += 1
    ticket.updated_at = now
    ticket.version += 1
    _event(plan, ticket, kind=kind, now=now, data=data)


def _array(values) -> str:
    """A PostgreSQL array literal of plain values (uuids, statuses, numbers, instants): one text
    parameter instead of thousands of client-side quoted elements."""
    return (
        "{"
        + ",".join("NULL" if v is None else (v.isoformat() if isinstance(v, datetime) else str(v)) for v in values)
        + "}"
    )


@functools.cache
def _update_sql(join: str) -> str:
    """The batch UPDATE of `_SWEPT_FIELDS` from arrays (the rows' ctid, the ids, then a column
    per field in that order), joined by `join`."""
    fields_ = [Ticket._meta.get_field(name) for name in _SWEPT_FIELDS]
    columns = [field.column for field in fields_]
    types = ", ".join(
        f"%s::{field.rel_db_type(connection) if field.is_relation else field.db_type(connection)}[]"
        for field in fields_
    )
    sets = ", ".join(f"{column} = v.{column}" for column in columns)
    return (
        f"UPDATE tickets_ticket AS t SET {sets} "  # noqa: S608 - the model's own column names
        f"FROM unnest(%s::tid[], %s::uuid[], {types}) AS v(row, id, {', '.join(columns)}) WHERE {join}"
    )


def _tickets_update(tickets: list[Ticket]) -> None:
    """One UPDATE for the whole batch. On PostgreSQL from arrays (Django's bulk_update builds a
    CASE per column with a branch per row, quadratic in the batch size), joined by the rows'
    physical address (`ctid`, read by the batch's SELECT … FOR UPDATE: the rows are locked, so
    it cannot move before this statement): a TID scan, where a join by id probes the primary key
    index once per row (mostly disk reads at 1M tickets) or hashes the whole table. The id is
    checked too; should a row not match (it never should), the batch is written again by id."""
    if connection.vendor != "postgresql":
        Ticket.objects.bulk_update(tickets, _SWEPT_FIELDS)
        return
    # A ctid is "(page,item)": quoted in the array literal for its comma.
    rows = "{" + ",".join(f'"{t.sweep_row}"' if getattr(t, "sweep_row", None) else "NULL" for t in tickets) + "}"
    columns = [rows, _array(t.pk for t in tickets)]
    columns += [_array(getattr(t, name) for t in tickets) for name in _UPDATED_ATTNAMES]
    with connection.cursor() as cursor:
        cursor.execute(_update_sql("t.ctid = v.row AND t.id = v.id"), columns)
        if cursor.rowcount != len(tickets):
            logger.warning("sla sweep: rows moved under their lock; updated by id", extra={"rows": len(tickets)})
            cursor.execute(_update_sql("t.id = v.id"), columns)


def _count_metrics(plan: _BatchPlan) -> None:
    for (tier, action), count in plan.breaches.items():
        metrics.sla_breaches_total.labels(tier=tier, action=action.lower()).inc(count)
    for level, count in plan.escalation_levels.items():
        metrics.sla_escalations_total.labels(level=str(level)).inc(count)
    for (from_status, to_status), count in plan.transitions.items():
        metrics.ticket_transitions_total.labels(from_status=from_status, to_status=to_status).inc(count)


def _sweep_batch(context: _SweepContext, batch_size: int, result: SweepResult) -> int:
    """Locks, decides and writes one batch in one transaction; returns how many rows it took."""
    with transaction.atomic():
        due = Ticket.objects.filter(sla_next_check_at__lte=context.now).order_by("sla_next_check_at")
        if connection.vendor == "postgresql":  # the rows' address, for the UPDATE (`_tickets_update`)
            due = due.annotate(sweep_row=RawSQL("tickets_ticket.ctid::text", ()))
        tickets = list(due.defer("description").select_for_update(skip_locked=True)[:batch_size])
        if not tickets:
            return 0
        plan = _plan_batch(tickets, context, result)
        for event in _auto_assign(plan.escalated, context, result):
            plan.events.add_instance(event)
        _tickets_update(tickets)
        plan.events.insert()
        plan.notifications.insert()
        if plan.escalated:
            tickets_changed.send(sender=Ticket, tickets=plan.escalated)
        notifications_publish_on_commit(plan.notifications.ids)
        if plan.breaches or plan.escalation_levels or plan.transitions:
            transaction.on_commit(lambda: _count_metrics(plan), robust=True)
    result.batches += 1
    return len(tickets)


def _auto_assign(escalated: list[Ticket], context: _SweepContext, result: SweepResult) -> list[TicketEvent]:
    """The batch's escalated tickets left without an agent, of tiers that opt in, auto-assigned
    together (tickets/auto_assign.py: one ranking query, two queries per agent chosen, one
    update); returns the unsaved decisions. Not in a dry run: it locks agents."""
    unassigned = [t for t in escalated if t.agent_id is None and context.policy(t.client_type).auto_assign]
    if not unassigned:
        return []
    events = tickets_auto_assign(unassigned, now=context.now)
    result.auto_assigned += sum(1 for ticket in unassigned if ticket.agent_id is not None)
    return events


def _dry_run(context: _SweepContext, batch_size: int, result: SweepResult) -> None:
    """The same decisions over the same rows, without locks or writes: keyset pages over
    (sla_next_check_at, id), since nothing moves the rows out of the due set."""
    after = None
    while True:
        due = Ticket.objects.filter(sla_next_check_at__lte=context.now).order_by("sla_next_check_at", "id")
        if after is not None:
            due = due.filter(Q(sla_next_check_at__gt=after[0]) | Q(sla_next_check_at=after[0], id__gt=after[1]))
        tickets = list(due.defer("description")[:batch_size])
        if not tickets:
            return
        after = (tickets[-1].sla_next_check_at, tickets[-1].pk)
        _plan_batch(tickets, context, result)
        result.batches += 1
        if len(tickets) < batch_size:
            return


def _merge(result: SweepResult, part: SweepResult) -> None:
    """Adds another loop's counts (every int field; the escalations per level) to `result`."""
    for item in fields(SweepResult):
        if item.type in (int, "int"):
            setattr(result, item.name, getattr(result, item.name) + getattr(part, item.name))
    for level, count in part.escalations.items():
        result.escalations[level] = result.escalations.get(level, 0) + count


def _sweep_loop(
    context: _SweepContext, batch_size: int, result: SweepResult, stop: threading.Event | None = None
) -> None:
    """Batch after batch until one comes back short (nothing left that no one else holds), or
    until `stop` is set between two batches (another loop failed or the task's time is up)."""
    while not (stop is not None and stop.is_set()) and _sweep_batch(context, batch_size, result) == batch_size:
        pass


def _sweep_helper(
    context: _SweepContext, batch_size: int, part: SweepResult, errors: list, stop: threading.Event
) -> None:
    try:
        _sweep_loop(context, batch_size, part, stop)
    except Exception as exc:  # re-raised by the sweep once every loop is done
        errors.append(exc)
        stop.set()
    finally:
        connection.close()  # the thread's own connection


def _sweep_batches(context: _SweepContext, batch_size: int, result: SweepResult, workers: int) -> None:
    """Every due batch. With `workers` > 1 and a first batch that came back full (more may be
    due), as many loops at once, each on its own connection: SKIP LOCKED hands each batch to one
    of them, and one plans its batch in Python while PostgreSQL writes another's. Never inside a
    caller's transaction (the other connections could not see its rows), never for an idle
    sweep (no thread, no connection: one query). The loops share the context (policies and
    recipients, read once)."""
    if _sweep_batch(context, batch_size, result) < batch_size:
        return
    if workers <= 1 or connection.vendor != "postgresql" or connection.in_atomic_block:
        _sweep_loop(context, batch_size, result)
        return
    parts, errors, stop = [SweepResult(now=context.now) for _ in range(workers - 1)], [], threading.Event()
    threads = [
        threading.Thread(target=_sweep_helper, args=(context, batch_size, part, errors, stop), name=f"sla-sweep-{n}")
        for n, part in enumerate(parts, start=1)
    ]
    for thread in threads:
        thread.start()
    try:
        _sweep_loop(context, batch_size, result, stop)
    except BaseException:  # e.g. the task's soft time limit, raised in this thread only
        stop.set()  # the other loops end after their batch in hand (each batch is one transaction)
        raise
    finally:
        for thread in threads:
            thread.join()
        for part in parts:
            _merge(result, part)
    if errors:
        raise errors[0]


def sla_sweep(*, now: datetime, batch_size: int | None = None, dry_run: bool = False, workers: int = 1) -> SweepResult:
    """Applies every SLA action due at `now` and returns what it did.

    Warnings, breaches and escalations are recorded as ticket events and notifications in the
    same transaction as the ticket change; deliveries, projections and metrics follow on
    commit. Safe to run concurrently and repeatedly (see the module docstring), so `workers`
    batch loops may run at once (threads with their own connections; the periodic task uses
    settings.SLA_SWEEP_WORKERS). `dry_run` computes the same result without locking or writing
    anything.
    """
    batch_size = batch_size or settings.SLA_SWEEP_BATCH_SIZE
    started = time.perf_counter()
    result = SweepResult(now=now, dry_run=dry_run)
    context = _SweepContext(now)
    if dry_run:
        # Rolled back whatever happens: nothing written, no on-commit side effect (metrics).
        with transaction.atomic():
            _dry_run(context, batch_size, result)
            transaction.set_rollback(True)
    else:
        _sweep_batches(context, batch_size, result, workers)
    result.duration_s = time.perf_counter() - started
    if not dry_run:
        metrics.sla_sweep_duration_seconds.observe(result.duration_s)
    if result.touched:
        logger.info("sla sweep", extra=result.as_dict())
    return result
