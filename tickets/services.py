"""Writes on clients and tickets: the only paths that change them.

Every ticket write runs in `transaction.atomic()`, locks the ticket row with
`select_for_update(nowait=True)` (a concurrent holder of the lock → 409 `concurrent_update`;
SQLite has no row locks and ignores `nowait`) and records a `TicketEvent`. The API, the admin
actions, `seed_demo` and the SLA sweep all call these functions.
"""

from datetime import datetime

from django.db import IntegrityError, OperationalError, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.models import User
from accounts.roles import Role
from reports.services import ticket_log_projection_enqueue
from techsupport import metrics
from techsupport.exceptions import BusinessRuleViolation, Conflict, Forbidden, NotFound, ValidationFailed
from tickets import sla
from tickets.models import Client, SlaPolicy, Ticket, TicketEvent
from tickets.states import CLOCK_STOPPED, TicketStatus, allowed_targets, can_transition

# Entering one of these states must be projected to `ticket_logs` (see `_on_ticket_changed`).
PROJECTED_STATUSES = frozenset({TicketStatus.RESOLVED, TicketStatus.CLOSED, TicketStatus.ESCALATED})
# An ESCALATED ticket needs an agent of at least this level.
ESCALATED_MIN_AGENT_LEVEL = 2
LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL SQLSTATE of a failed NOWAIT


# --- Clients -----------------------------------------------------------------------------
def _client_email_check(email: str, *, exclude_pk=None) -> None:
    clash = Client.objects.annotate(email_ci=Lower("email")).filter(email_ci=email.lower())
    if exclude_pk is not None:
        clash = clash.exclude(pk=exclude_pk)
    if clash.exists():
        raise Conflict("A client with this email already exists.", code="client_email_taken")


def client_create(*, name: str, email: str, type: str, company: str = "") -> Client:
    """Creates a client; 409 `client_email_taken` when the email exists (case-insensitive)."""
    client = Client(name=name.strip(), email=email.strip().lower(), type=type, company=company.strip())
    try:
        with transaction.atomic():
            _client_email_check(client.email)
            client.save()
    except IntegrityError as exc:  # lost a race with a concurrent create
        raise Conflict("A client with this email already exists.", code="client_email_taken") from exc
    return client


def client_update(*, client: Client, **changes) -> Client:
    """Changes any of name, email, type, company. A tier change applies to tickets created
    afterwards; existing tickets keep the due time they were given."""
    try:
        with transaction.atomic():
            client = Client.objects.select_for_update().get(pk=client.pk)
            if "email" in changes:
                changes["email"] = changes["email"].strip().lower()
                _client_email_check(changes["email"], exclude_pk=client.pk)
            tier_changed = "type" in changes and changes["type"] != client.type
            for field, value in changes.items():
                setattr(client, field, value.strip() if isinstance(value, str) else value)
            client.save()
            if tier_changed:
                Ticket.objects.filter(client=client).update(client_type=client.type)
    except IntegrityError as exc:
        raise Conflict("A client with this email already exists.", code="client_email_taken") from exc
    return client


# --- SLA policy --------------------------------------------------------------------------
def sla_policy_values(client_type: str) -> sla.PolicyValues:
    policy = SlaPolicy.objects.filter(client_type=client_type).first()
    return sla.DEFAULT_POLICIES[client_type] if policy is None else policy.as_values()


# --- Tickets -----------------------------------------------------------------------------
def _ticket_lock(ticket_id) -> Ticket:
    """The live ticket, row-locked until the end of the surrounding transaction."""
    try:
        ticket = Ticket.objects.alive().select_for_update(nowait=True).filter(pk=ticket_id).first()
    except OperationalError as exc:
        if getattr(exc.__cause__, "sqlstate", None) == LOCK_NOT_AVAILABLE:
            raise Conflict("Another change to this ticket is in progress; retry.", code="concurrent_update") from exc
        raise
    if ticket is None:
        raise NotFound("The ticket does not exist.", code="ticket_not_found")
    return ticket


def _on_ticket_changed(ticket: Ticket, event: TicketEvent) -> None:
    """Called inside the transaction of a change that entered RESOLVED, CLOSED or ESCALATED.

    The live projection to MongoDB `ticket_logs` hooks in here: the reports app adds its
    outbox row (same transaction) and enqueues the delivery on commit. A no-op until then.
    """
    ticket_log_projection_enqueue(ticket=ticket)


def ticket_create(
    *,
    title: str,
    description: str,
    client: Client,
    priority: int = 3,
    actor: User | None,
    now: datetime | None = None,
) -> Ticket:
    """Creates an OPEN ticket with its SLA clock started from the client's tier policy and a
    `created` event."""
    now = now or timezone.now()
    policy = sla_policy_values(client.type)
    due = sla.due_at(now, policy.target_hours)
    with transaction.atomic():
        ticket = Ticket.objects.create(
            title=title.strip(),
            description=description.strip(),
            client=client,
            client_type=client.type,
            priority=priority,
            status=TicketStatus.OPEN,
            created_at=now,
            updated_at=now,
            sla_due_at=due,
            sla_next_check_at=sla.warning_at(now, due, policy.warning_threshold),
        )
        TicketEvent.objects.create(
            ticket=ticket,
            actor=actor,
            kind=TicketEvent.Kind.CREATED,
            to_status=TicketStatus.OPEN,
            data={"priority": priority, "clientId": str(client.pk), "slaDueAt": due.isoformat()},
            created_at=now,
        )
        transaction.on_commit(lambda: metrics.tickets_created_total.labels(tier=client.type).inc())
    return ticket


def transition_apply(
    ticket: Ticket,
    to_status: str,
    *,
    actor: User | None,
    now: datetime,
    kind: str = TicketEvent.Kind.STATUS_CHANGED,
    data: dict | None = None,
) -> TicketEvent:
    """Applies one transition to a ticket the caller has locked: checks the transition table,
    moves the timestamps, escalation level and SLA clock, and returns the *unsaved* event.

    The caller saves the ticket and the event (one by one, or in bulk as the SLA sweep does)
    and then calls `_on_ticket_changed` when `to_status` is in PROJECTED_STATUSES.
    Raises 409 `invalid_transition` with the allowed targets in `details`.
    """
    from_status = ticket.status
    if not can_transition(from_status, to_status):
        raise Conflict(
            f"A ticket cannot go from {from_status} to {to_status}.",
            code="invalid_transition",
            details={"from": from_status, "to": to_status, "allowed": list(allowed_targets(from_status))},
        )
    ticket.status = to_status
    ticket.updated_at = now
    if to_status == TicketStatus.RESOLVED:
        ticket.resolved_at = now
        ticket.resolution_time_min = round((now - ticket.created_at).total_seconds() / 60, 2)
    elif from_status == TicketStatus.RESOLVED and to_status != TicketStatus.CLOSED:
        # Reopened: the resolution no longer holds (closing keeps it).
        ticket.resolved_at = None
        ticket.resolution_time_min = None
    if to_status == TicketStatus.ESCALATED:
        ticket.escalation_level += 1
    if to_status in CLOCK_STOPPED:
        # A late resolution is a breach even if no sweep saw it: record it at the due time.
        if ticket.sla_breached_at is None and ticket.sla_due_at is not None and now > ticket.sla_due_at:
            ticket.sla_breached_at = ticket.sla_due_at
        ticket.sla_next_check_at = None
    elif from_status in CLOCK_STOPPED and ticket.sla_due_at is not None:
        policy = sla_policy_values(ticket.client_type)
        ticket.sla_next_check_at = sla.next_check_on_reopen(
            created_at=ticket.created_at, due=ticket.sla_due_at, warning_threshold=policy.warning_threshold, now=now
        )
    transaction.on_commit(
        lambda: metrics.ticket_transitions_total.labels(from_status=from_status, to_status=to_status).inc()
    )
    return TicketEvent(
        ticket=ticket,
        actor=actor,
        kind=kind,
        from_status=from_status,
        to_status=to_status,
        data={"escalationLevel": ticket.escalation_level, **(data or {})},
        created_at=now,
    )


_TRANSITION_FIELDS = [
    "status",
    "updated_at",
    "resolved_at",
    "resolution_time_min",
    "escalation_level",
    "sla_breached_at",
    "sla_next_check_at",
]


def ticket_change_status(*, ticket: Ticket, to_status: str, actor: User | None, now: datetime | None = None) -> Ticket:
    """Moves a ticket to `to_status` and returns the fresh ticket.

    409 `invalid_transition` (not in the table), 409 `concurrent_update` (another change holds
    the ticket), 404 `ticket_not_found` (deleted meanwhile), 403 `not_assigned` (an agent may
    change only tickets assigned to them). `actor` None is the system.
    """
    now = now or timezone.now()
    with transaction.atomic():
        locked = _ticket_lock(ticket.pk)
        if actor is not None and actor.role == Role.AGENT and locked.agent_id != actor.pk:
            raise Forbidden("Agents may change only tickets assigned to them.", code="not_assigned")
        event = transition_apply(locked, to_status, actor=actor, now=now)
        locked.save(update_fields=_TRANSITION_FIELDS)
        event.save()
        if to_status in PROJECTED_STATUSES:
            _on_ticket_changed(locked, event)
    return locked


def agent_assignment_error(agent: User | None, ticket: Ticket) -> BusinessRuleViolation | None:
    """Why `agent` cannot take `ticket`, or None. The agent must come from the database."""
    if agent is None or agent.role != Role.AGENT or not agent.is_active:
        return BusinessRuleViolation("The agent does not exist, is inactive or is not an agent.", code="invalid_agent")
    if ticket.status == TicketStatus.ESCALATED and agent.level < ESCALATED_MIN_AGENT_LEVEL:
        return BusinessRuleViolation(
            f"An escalated ticket needs an agent of level {ESCALATED_MIN_AGENT_LEVEL} or higher.",
            code="agent_level_too_low",
            details={"agentLevel": agent.level, "requiredLevel": ESCALATED_MIN_AGENT_LEVEL},
        )
    return None


def ticket_assign(*, ticket: Ticket, agent_id, actor: User | None, now: datetime | None = None) -> Ticket:
    """Assigns the ticket to an agent (read from the database, never trusted from the caller).

    422 `invalid_agent` (unknown, inactive or not an AGENT), 422 `agent_level_too_low`
    (ESCALATED ticket, agent below level 2), 403 `forbidden` for an agent actor, plus the lock
    errors of `ticket_change_status`.
    """
    if actor is not None and actor.role == Role.AGENT:
        raise Forbidden("Only admins and supervisors assign tickets.")
    now = now or timezone.now()
    with transaction.atomic():
        locked = _ticket_lock(ticket.pk)
        agent = User.objects.filter(pk=agent_id).first()
        error = agent_assignment_error(agent, locked)
        if error is not None:
            raise error
        previous = locked.agent_id
        locked.agent = agent
        locked.updated_at = now
        locked.save(update_fields=["agent", "updated_at"])
        TicketEvent.objects.create(
            ticket=locked,
            actor=actor,
            kind=TicketEvent.Kind.ASSIGNED,
            from_status=locked.status,
            to_status=locked.status,
            data={"fromAgentId": str(previous) if previous else None, "toAgentId": str(agent.pk)},
            created_at=now,
        )
    return locked


EDITABLE_FIELDS = ("title", "description", "priority")


def ticket_update(*, ticket: Ticket, actor: User | None, now: datetime | None = None, **changes) -> Ticket:
    """Changes title, description or priority; records what changed (nothing changed → no event)."""
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"Not editable: {sorted(unknown)}")
    now = now or timezone.now()
    with transaction.atomic():
        locked = _ticket_lock(ticket.pk)
        diff = {
            field: {"from": getattr(locked, field), "to": value}
            for field, value in changes.items()
            if getattr(locked, field) != value
        }
        if not diff:
            return locked
        for field in diff:
            setattr(locked, field, changes[field])
        locked.updated_at = now
        locked.save(update_fields=[*diff, "updated_at"])
        TicketEvent.objects.create(
            ticket=locked,
            actor=actor,
            kind=TicketEvent.Kind.UPDATED,
            from_status=locked.status,
            to_status=locked.status,
            data={"changes": diff},
            created_at=now,
        )
    return locked


def ticket_soft_delete(*, ticket: Ticket, actor: User | None, now: datetime | None = None) -> None:
    """Hides the ticket from the API (404 afterwards) and stops its SLA clock; the row and its
    audit trail stay."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = _ticket_lock(ticket.pk)
        locked.deleted_at = now
        locked.updated_at = now
        locked.sla_next_check_at = None
        locked.save(update_fields=["deleted_at", "updated_at", "sla_next_check_at"])
        TicketEvent.objects.create(
            ticket=locked,
            actor=actor,
            kind=TicketEvent.Kind.DELETED,
            from_status=locked.status,
            to_status=locked.status,
            created_at=now,
        )


COMMENT_MAX_LENGTH = 4000


def ticket_comment(*, ticket: Ticket, text: str, actor: User | None, now: datetime | None = None) -> TicketEvent:
    """Adds a note to the ticket's audit trail: a `commented` event with `{"text": ...}`; the
    ticket itself (status, agent, SLA clock, `updated_at`) does not change, so a note never
    conflicts with a concurrent change. 400 `invalid_comment` (blank, or longer than
    COMMENT_MAX_LENGTH characters), 404 `ticket_not_found` (deleted)."""
    text = (text or "").strip()
    if not text or len(text) > COMMENT_MAX_LENGTH:
        raise ValidationFailed(
            f"A comment needs 1 to {COMMENT_MAX_LENGTH} characters.",
            code="invalid_comment",
            details={"text": f"1 to {COMMENT_MAX_LENGTH} characters."},
        )
    status = Ticket.objects.alive().filter(pk=ticket.pk).values_list("status", flat=True).first()
    if status is None:
        raise NotFound("The ticket does not exist.", code="ticket_not_found")
    return TicketEvent.objects.create(
        ticket_id=ticket.pk,
        actor=actor,
        kind=TicketEvent.Kind.COMMENTED,
        from_status=status,
        to_status=status,
        data={"text": text},
        created_at=now or timezone.now(),
    )
