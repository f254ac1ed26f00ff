"""Writes on clients and tickets: the only paths that change them.

Every ticket write runs in `transaction.atomic()`, locks the ticket row with
`select_for_update()`, increments `Ticket.version` and records a `TicketEvent`. Writes to one
ticket are serialized: a change waits for a concurrent one to finish, at most
TICKET_LOCK_TIMEOUT_MS (PostgreSQL `lock_timeout`; then 409 `concurrent_update`; SQLite has no
row locks). A change may name the state it was based on (`expected_version`, the ETag a client
read; `expected_status`): if the ticket has moved since, it is refused with 409 and the current
status and version, so of two conflicting changes based on one state exactly one wins. The API,
the admin actions, `seed_demo` and the SLA sweep all call these functions.
"""

from contextlib import contextmanager
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import F
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.models import User
from accounts.roles import Role
from techsupport.error_codes import ErrorCode
from techsupport.exceptions import BusinessRuleViolation, Conflict, Forbidden, NotFound, ValidationFailed
from tickets import metrics, sla
from tickets.auto_assign import tickets_auto_assign
from tickets.models import BusinessCalendar, Client, Holiday, Notification, SlaPolicy, Ticket, TicketEvent
from tickets.notifications import notifications_build, notifications_publish_on_commit
from tickets.signals import tickets_changed
from tickets.states import (
    CLOCK_PAUSED,
    CLOCK_STOPPED,
    ESCALATED_MIN_AGENT_LEVEL,
    TRANSITIONS,
    TicketStatus,
    allowed_targets,
    can_transition,
    min_agent_level,
)

# Entering one of these states must be projected to `ticket_logs` (see `_on_ticket_changed`).
PROJECTED_STATUSES = frozenset(
    {TicketStatus.RESOLVED, TicketStatus.CLOSED, TicketStatus.ESCALATED, TicketStatus.WAITING_CUSTOMER}
)
LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL SQLSTATE of a failed NOWAIT or an expired lock_timeout


# --- Clients -----------------------------------------------------------------------------
def _client_email_check(email: str, *, exclude_pk=None) -> None:
    clash = Client.objects.annotate(email_ci=Lower("email")).filter(email_ci=email.lower())
    if exclude_pk is not None:
        clash = clash.exclude(pk=exclude_pk)
    if clash.exists():
        raise Conflict("A client with this email already exists.", code=ErrorCode.CLIENT_EMAIL_TAKEN)


def client_create(*, name: str, email: str, type: str, company: str = "") -> Client:
    """Creates a client; 409 `client_email_taken` when the email exists (case-insensitive)."""
    client = Client(name=name.strip(), email=email.strip().lower(), type=type, company=company.strip())
    try:
        with transaction.atomic():
            _client_email_check(client.email)
            client.save()
    except IntegrityError as exc:  # lost a race with a concurrent create
        raise Conflict("A client with this email already exists.", code=ErrorCode.CLIENT_EMAIL_TAKEN) from exc
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
                Ticket.objects.filter(client=client).update(client_type=client.type, version=F("version") + 1)
    except IntegrityError as exc:
        raise Conflict("A client with this email already exists.", code=ErrorCode.CLIENT_EMAIL_TAKEN) from exc
    return client


# --- SLA policy --------------------------------------------------------------------------
def sla_policy_values(client_type: str) -> sla.PolicyValues:
    """The tier's policy as values, its business calendar (if any) as a cached CalendarSpec:
    one query, plus one for the holidays when the calendar changed since this process read it."""
    policy = SlaPolicy.objects.select_related("calendar").filter(client_type=client_type).first()
    return sla.DEFAULT_POLICIES[client_type] if policy is None else policy.as_values()


POLICY_FIELDS = (
    "target_hours",
    "breach_action",
    "escalation_ceiling",
    "warning_threshold",
    "first_response_minutes",
    "auto_assign",
    "calendar",
)


def sla_policy_update(*, policy: SlaPolicy, **changes) -> SlaPolicy:
    """Changes any of POLICY_FIELDS and returns the saved policy. A value outside its bounds
    (sla.MIN_* / MAX_*, NaN, infinity) → 400 `validation_error` with a message per field; the
    database's CHECK constraints refuse the same values from any path that skips this one."""
    unknown = set(changes) - set(POLICY_FIELDS)
    if unknown:
        raise ValueError(f"Not editable: {sorted(unknown)}")
    with transaction.atomic():
        policy = SlaPolicy.objects.select_for_update().get(pk=policy.pk)
        for field, value in changes.items():
            setattr(policy, field, value)
        try:
            policy.full_clean()
        except DjangoValidationError as exc:
            raise ValidationFailed(
                "The SLA policy is invalid.",
                details={field: " ".join(messages) for field, messages in exc.message_dict.items()},
            ) from exc
        policy.save()
    return policy


# --- Business calendars -------------------------------------------------------------------
def business_calendar_create(
    *, name: str, time_zone: str, weekly_hours: dict, holidays: list[tuple] = ()
) -> BusinessCalendar:
    """Creates a calendar and its holidays ((date, name) pairs). An unknown zone, malformed,
    overlapping or out-of-bounds hours, a week without any open hour, a duplicate name or holiday
    date → 400 `invalid_calendar` with a message per field."""
    calendar = BusinessCalendar(name=name.strip(), time_zone=time_zone.strip(), weekly_hours=weekly_hours)
    rows = [Holiday(calendar=calendar, date=day, name=label) for day, label in holidays]
    try:
        calendar.full_clean()
        for row in rows:
            row.full_clean(exclude=["calendar"], validate_unique=False)
    except DjangoValidationError as exc:
        raise ValidationFailed(
            "The business calendar is invalid.",
            code=ErrorCode.INVALID_CALENDAR,
            details={field: " ".join(messages) for field, messages in exc.message_dict.items()},
        ) from exc
    if len({row.date for row in rows}) != len(rows):
        raise ValidationFailed(
            "The business calendar is invalid.",
            code=ErrorCode.INVALID_CALENDAR,
            details={"holidays": "One holiday per date."},
        )
    with transaction.atomic():
        calendar.save()
        Holiday.objects.bulk_create(rows)  # no per-row signal: the calendar is new
    return calendar


# --- Tickets -----------------------------------------------------------------------------
def _current(ticket: Ticket) -> dict:
    """What a refused change is told about the ticket now."""
    return {"status": ticket.status, "version": ticket.version}


@contextmanager
def _lock_wait_bounded():
    """Row locks taken inside wait at most TICKET_LOCK_TIMEOUT_MS for a concurrent holder, then
    409 `concurrent_update`. The caller's own `lock_timeout` is restored afterwards (it may be
    inside a longer transaction: an admin action, a level change)."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('lock_timeout'), set_config('lock_timeout', %s, true)",
            [f"{settings.TICKET_LOCK_TIMEOUT_MS}ms"],
        )
        previous = cursor.fetchone()[0]
    try:
        yield
    except OperationalError as exc:
        if getattr(exc.__cause__, "sqlstate", None) == LOCK_NOT_AVAILABLE:
            raise Conflict(
                "Another change to this ticket is in progress; retry.", code=ErrorCode.CONCURRENT_UPDATE
            ) from exc
        raise
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('lock_timeout', %s, true)", [previous])


def _ticket_lock(ticket_id) -> Ticket:
    """The live ticket, row-locked until the end of the surrounding transaction."""
    with _lock_wait_bounded():
        ticket = Ticket.objects.alive().select_for_update().filter(pk=ticket_id).first()
    if ticket is None:
        raise NotFound("The ticket does not exist.", code=ErrorCode.TICKET_NOT_FOUND)
    return ticket


def _precondition_check(
    ticket: Ticket, *, expected_version: int | None, expected_status: str | None, to_status: str | None = None
) -> None:
    """409 when the caller's change was based on a state the (locked) ticket has left:
    `invalid_transition` when `to_status` cannot follow the current status anyway, else
    `concurrent_update`. The current status and version are in `details` either way."""
    version_moved = expected_version is not None and ticket.version != expected_version
    status_moved = expected_status is not None and ticket.status != expected_status
    if not (version_moved or status_moved):
        return
    if to_status is not None:
        transition_check(ticket, to_status)
    raise Conflict(
        "The ticket has changed since you read it; reload it and decide again.",
        code=ErrorCode.CONCURRENT_UPDATE,
        details={**_current(ticket), "expectedVersion": expected_version, "expectedStatus": expected_status},
    )


def _on_ticket_changed(ticket: Ticket, event: TicketEvent) -> None:
    """Called inside the transaction of a change that entered a PROJECTED_STATUSES status:
    announces it (tickets/signals.py; the reports app projects it into `ticket_logs`)."""
    tickets_changed.send(sender=Ticket, tickets=[ticket])


def _clock_started(policy: sla.PolicyValues, now: datetime) -> dict:
    """The SLA fields of a ticket whose clocks (resolution, first response) start at `now`."""
    due, warning = sla.clock_start(policy, now)
    first_hours = policy.first_response_minutes / 60
    first_due = sla.plus_hours(now, first_hours, policy.calendar)
    first_warning = sla.warning_at(now, first_due, policy.warning_threshold, policy.calendar, first_hours)
    return {
        "sla_due_at": due,
        "sla_warning_at": warning,
        "sla_resolution_check_at": warning,
        "first_response_due_at": first_due,
        "first_response_warning_at": first_warning,
        "sla_next_check_at": sla.earliest(warning, first_warning),
    }


def ticket_create(
    *,
    title: str,
    description: str,
    client: Client,
    priority: int = 3,
    actor: User | None,
    now: datetime | None = None,
) -> Ticket:
    """Creates an OPEN ticket (version 1) with its SLA clock started from the client's tier
    policy and a `created` event. With a business calendar on the policy, the due and warning
    instants (of both targets) count only its open hours (created outside hours: from the next
    opening). When the tier opts in to auto-assignment, the ticket is created assigned to the
    least loaded eligible agent, or to none, with an `assigned` event recording that decision
    (tickets/auto_assign.py)."""
    now = now or timezone.now()
    policy = sla_policy_values(client.type)
    clock = _clock_started(policy, now)
    with transaction.atomic():
        ticket = Ticket(
            title=title.strip(),
            description=description.strip(),
            client=client,
            client_type=client.type,
            priority=priority,
            status=TicketStatus.OPEN,
            created_at=now,
            updated_at=now,
            **clock,
        )
        # Decided before the insert: the ticket is written once, with its agent.
        decisions = tickets_auto_assign([ticket], now=now) if policy.auto_assign else []
        ticket.save(force_insert=True)
        TicketEvent.objects.create(
            ticket=ticket,
            actor=actor,
            kind=TicketEvent.Kind.CREATED,
            to_status=TicketStatus.OPEN,
            data={
                "priority": priority,
                "clientId": str(client.pk),
                "slaDueAt": clock["sla_due_at"].isoformat(),
                "firstResponseDueAt": clock["first_response_due_at"].isoformat(),
            },
            created_at=now,
        )
        for event in decisions:
            event.save()
        transaction.on_commit(lambda: metrics.tickets_created_total.labels(tier=client.type).inc())
    return ticket


def transition_check(ticket: Ticket, to_status: str) -> None:
    """409 `invalid_transition` with the allowed targets and the current state in `details`."""
    from_status = ticket.status
    if not can_transition(from_status, to_status):
        raise Conflict(
            f"A ticket cannot go from {from_status} to {to_status}.",
            code=ErrorCode.INVALID_TRANSITION,
            details={
                "from": from_status,
                "to": to_status,
                "allowed": list(allowed_targets(from_status)),
                **_current(ticket),
            },
        )


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
    moves the timestamps, escalation level, version and SLA clock, and returns the *unsaved*
    event.

    The caller saves the ticket and the event (one by one, or in bulk as the SLA sweep does),
    applies `escalation_unassign` when the ticket entered ESCALATED, and then calls
    `_on_ticket_changed` when `to_status` is in PROJECTED_STATUSES.
    Raises 409 `invalid_transition` with the allowed targets in `details`.
    """
    from_status, clock = transition_move(ticket, to_status, now=now)
    transaction.on_commit(
        lambda: metrics.ticket_transitions_total.labels(from_status=from_status, to_status=to_status).inc()
    )
    return TicketEvent(
        ticket=ticket,
        actor=actor,
        kind=kind,
        from_status=from_status,
        to_status=to_status,
        data={"escalationLevel": ticket.escalation_level, **clock, **(data or {})},
        created_at=now,
    )


def transition_move(ticket: Ticket, to_status: str, *, now: datetime) -> tuple[str, dict]:
    """`transition_apply` without its event and its metric (the SLA sweep writes the events of
    a batch as rows and counts the transitions once per batch): checks the transition table,
    moves the ticket in memory, and returns the status it left and what the event records of
    the SLA clock."""
    transition_check(ticket, to_status)
    from_status = ticket.status
    ticket.status = to_status
    ticket.updated_at = now
    ticket.version += 1
    return from_status, _timestamps_move(ticket, from_status, to_status, now)


def _timestamps_move(ticket: Ticket, from_status: str, to_status: str, now: datetime) -> dict:
    """The resolution, the escalation level and the SLA clock after `from_status` → `to_status`;
    returns what the event records of a clock paused or resumed."""
    if to_status == TicketStatus.RESOLVED:
        ticket.resolved_at = now
        ticket.resolution_time_min = round((now - ticket.created_at).total_seconds() / 60, 2)
    elif from_status == TicketStatus.RESOLVED and to_status != TicketStatus.CLOSED:
        # Reopened: the resolution no longer holds (closing keeps it).
        ticket.resolved_at = None
        ticket.resolution_time_min = None
    if to_status == TicketStatus.ESCALATED:
        ticket.escalation_level += 1
    resumed = _clock_resume(ticket, now) if from_status in CLOCK_PAUSED else {}
    clock = {"slaClock": "resumed", **resumed} if resumed else {}
    if to_status in CLOCK_PAUSED:
        _clock_pause(ticket, now)
        clock = {"slaClock": "paused", "slaRemainingMinutes": _remaining_at(ticket, now)}
    if to_status in CLOCK_STOPPED:
        # A late resolution is a breach even if no sweep saw it: record it at the due time.
        if ticket.sla_breached_at is None and ticket.sla_due_at is not None and now > ticket.sla_due_at:
            ticket.sla_breached_at = ticket.sla_due_at
        ticket.sla_next_check_at = None
    elif from_status in CLOCK_STOPPED and not resumed and ticket.sla_due_at is not None:
        resolution = sla.next_check_on_reopen(warning=ticket.sla_warning_at, due=ticket.sla_due_at, now=now)
        _next_check_set(ticket, resolution)
    return clock


def _first_response_next(ticket: Ticket) -> datetime | None:
    return sla.first_response_next(
        due=ticket.first_response_due_at,
        warning=ticket.first_response_warning_at,
        warned_at=ticket.first_response_warned_at,
        responded_at=ticket.first_responded_at,
        breached_at=ticket.first_response_breached_at,
    )


def _next_check_set(ticket: Ticket, resolution: datetime | None) -> None:
    """A running clock's next checks: the resolution target's step, and the earliest pending
    instant of both targets for the sweep."""
    if ticket.first_response_due_at is None:
        ticket.sla_next_check_at = resolution
        return
    ticket.sla_resolution_check_at = resolution
    ticket.sla_next_check_at = sla.earliest(resolution, _first_response_next(ticket))


def first_response_meet(ticket: Ticket, *, actor: User | None, now: datetime) -> bool:
    """Records the first response on a ticket the caller has locked, when `actor` is a person
    (None is the system: the SLA sweep) and none was recorded yet; the first-response target's
    pending instant leaves the next check. Returns whether it recorded one; the caller saves
    `FIRST_RESPONSE_FIELDS`."""
    if actor is None or ticket.first_responded_at is not None:
        return False
    ticket.first_responded_at = now
    if ticket.first_response_due_at is not None:
        if ticket.status in CLOCK_PAUSED:
            ticket.sla_paused_next_check_at = ticket.sla_resolution_check_at
        elif ticket.clock_running:
            ticket.sla_next_check_at = ticket.sla_resolution_check_at
    return True


FIRST_RESPONSE_FIELDS = ["first_responded_at", "sla_next_check_at", "sla_paused_next_check_at"]


def _remaining_at(ticket: Ticket, now: datetime) -> int | None:
    return sla.remaining_minutes(due=ticket.sla_due_at, clock_running=True, now=now)


def _clock_pause(ticket: Ticket, now: datetime) -> None:
    """Entering WAITING_CUSTOMER: remembers when, and the next SLA check the ticket had."""
    ticket.sla_paused_at = now
    ticket.sla_paused_next_check_at = ticket.sla_next_check_at


def _clock_resume(ticket: Ticket, now: datetime) -> dict:
    """Leaving WAITING_CUSTOMER: the due and warning instants, and the next check the pause
    held, move later by the paused time — in the open hours of the policy's calendar, if it has
    one (`sla.add_open_time`). Returns what the audit trail records of it (`pausedMinutes`, the
    new `slaDueAt`); empty when no pause was recorded."""
    if ticket.sla_paused_at is None:
        return {}
    calendar = sla_policy_values(ticket.client_type).calendar
    paused = sla.open_time_between(ticket.sla_paused_at, now, calendar)
    moved = ["sla_due_at", "sla_warning_at", "sla_paused_next_check_at", "sla_resolution_check_at"]
    if ticket.first_responded_at is None:
        moved += ["first_response_due_at", "first_response_warning_at"]
    for name in moved:
        instant = getattr(ticket, name)
        setattr(ticket, name, None if instant is None else sla.add_open_time(instant, paused, calendar))
    ticket.sla_next_check_at = ticket.sla_paused_next_check_at
    ticket.sla_paused_at = ticket.sla_paused_next_check_at = None
    ticket.sla_paused_minutes = round((ticket.sla_paused_minutes or 0) + sla.paused_minutes(paused), 2)
    due = ticket.sla_due_at
    return {"pausedMinutes": sla.paused_minutes(paused), "slaDueAt": None if due is None else _iso(due)}


def _iso(instant: datetime) -> str:
    return instant.isoformat().replace("+00:00", "Z")


# --- The agent level rule ------------------------------------------------------------------
def agent_level_too_low(agent: User, status: str) -> bool:
    """The one level rule: an ESCALATED ticket needs an agent of ESCALATED_MIN_AGENT_LEVEL+."""
    return agent.level < min_agent_level(status)


def _level_error(agent: User) -> BusinessRuleViolation:
    return BusinessRuleViolation(
        f"An escalated ticket needs an agent of level {ESCALATED_MIN_AGENT_LEVEL} or higher.",
        code=ErrorCode.AGENT_LEVEL_TOO_LOW,
        details={"agentLevel": agent.level, "requiredLevel": ESCALATED_MIN_AGENT_LEVEL},
    )


def escalation_unassign(
    ticket: Ticket, agent: User, *, actor: User | None, now: datetime
) -> tuple[TicketEvent, Notification]:
    """Takes a ticket away from its agent whose level its status no longer allows (the ticket
    is in memory, locked by the caller): clears the agent, and returns the *unsaved* `assigned`
    event (to nobody, with the reason) and the `unassigned` notification to the agent. The
    caller saves the ticket's `agent` and the rows (one by one, or in bulk as the SLA sweep
    does), and enqueues the notification's delivery on commit."""
    ticket.agent = None
    reason = {"reason": "agent_level_too_low", "agentLevel": agent.level, "requiredLevel": ESCALATED_MIN_AGENT_LEVEL}
    event = TicketEvent(
        ticket=ticket,
        actor=actor,
        kind=TicketEvent.Kind.ASSIGNED,
        from_status=ticket.status,
        to_status=ticket.status,
        data={"fromAgentId": str(agent.pk), "toAgentId": None, **reason},
        created_at=now,
    )
    message = (
        f"You were unassigned from ticket «{ticket.title}»: an {ticket.status} ticket needs an agent of level "
        f"{ESCALATED_MIN_AGENT_LEVEL} or higher, and yours is {agent.level}."
    )
    data = {**reason, "status": ticket.status, "escalationLevel": ticket.escalation_level}
    (notification,) = notifications_build(
        ticket=ticket,
        kind=Notification.Kind.UNASSIGNED,
        recipients=[agent],
        message=message,
        data=data,
        now=now,
        webhook=False,
    )
    return event, notification


def _unassign_save(rows: tuple[TicketEvent, Notification]) -> None:
    event, notification = rows
    event.save()
    notification.save()
    notifications_publish_on_commit([notification.pk])


_TRANSITION_FIELDS = [
    "status",
    "agent",
    "updated_at",
    "resolved_at",
    "resolution_time_min",
    "escalation_level",
    "sla_breached_at",
    "sla_next_check_at",
    "sla_due_at",
    "sla_warning_at",
    "sla_paused_at",
    "sla_paused_next_check_at",
    "sla_paused_minutes",
    "sla_resolution_check_at",
    "first_response_due_at",
    "first_response_warning_at",
    "first_responded_at",
    "version",
]


def ticket_change_status(
    *,
    ticket: Ticket,
    to_status: str,
    actor: User | None,
    now: datetime | None = None,
    expected_version: int | None = None,
    expected_status: str | None = None,
) -> Ticket:
    """Moves a ticket to `to_status` and returns the fresh ticket (version incremented).

    409 `invalid_transition` (not in the table), 409 `concurrent_update` (the ticket is no
    longer at `expected_version` / `expected_status`, or another change held it past the lock
    timeout), 404 `ticket_not_found` (deleted meanwhile), 403 `not_assigned` (an agent may
    change only tickets assigned to them), 422 `agent_level_too_low` (an agent below level 2
    on an ESCALATED ticket). Entering ESCALATED unassigns an agent below level 2 (see
    `escalation_unassign`); a ticket left without an agent then is auto-assigned when its tier
    opts in (`_escalation_auto_assign`). `actor` None is the system.
    """
    now = now or timezone.now()
    with transaction.atomic():
        locked = _ticket_lock(ticket.pk)
        if actor is not None and actor.role == Role.AGENT:
            if locked.agent_id != actor.pk:
                raise Forbidden("Agents may change only tickets assigned to them.", code=ErrorCode.NOT_ASSIGNED)
            if agent_level_too_low(actor, locked.status):
                raise _level_error(actor)
        _precondition_check(
            locked, expected_version=expected_version, expected_status=expected_status, to_status=to_status
        )
        event = transition_apply(locked, to_status, actor=actor, now=now)
        first_response_meet(locked, actor=actor, now=now)
        unassigned = None
        if locked.agent_id is not None and agent_level_too_low(locked.agent, to_status):
            unassigned = escalation_unassign(locked, locked.agent, actor=actor, now=now)
        decisions = _escalation_auto_assign(locked, now=now) if to_status == TicketStatus.ESCALATED else []
        locked.save(update_fields=_TRANSITION_FIELDS)
        event.save()
        if unassigned is not None:
            _unassign_save(unassigned)
        for decision in decisions:
            decision.save()
        if to_status in PROJECTED_STATUSES:
            _on_ticket_changed(locked, event)
    return locked


def _escalation_auto_assign(ticket: Ticket, *, now: datetime) -> list[TicketEvent]:
    """A ticket just escalated (locked, in memory) with no agent left, of a tier that opts in:
    the unsaved decision of auto-assignment (tickets/auto_assign.py); otherwise nothing."""
    if ticket.agent_id is not None or not sla_policy_values(ticket.client_type).auto_assign:
        return []
    return tickets_auto_assign([ticket], now=now)


def agent_assignment_error(agent: User | None, ticket: Ticket) -> BusinessRuleViolation | None:
    """Why `agent` cannot take `ticket`, or None. The agent must come from the database."""
    if agent is None or agent.role != Role.AGENT or not agent.is_active:
        return BusinessRuleViolation(
            "The agent does not exist, is inactive or is not an agent.", code=ErrorCode.INVALID_AGENT
        )
    if agent_level_too_low(agent, ticket.status):
        return _level_error(agent)
    return None


def ticket_assign(
    *,
    ticket: Ticket,
    agent_id,
    actor: User | None,
    now: datetime | None = None,
    expected_version: int | None = None,
) -> Ticket:
    """Assigns the ticket to an agent (read from the database, never trusted from the caller).

    422 `invalid_agent` (unknown, inactive or not an AGENT), 422 `agent_level_too_low`
    (ESCALATED ticket, agent below level 2), 403 `forbidden` for an agent actor, plus the lock
    and precondition errors of `ticket_change_status`.
    """
    if actor is not None and actor.role == Role.AGENT:
        raise Forbidden("Only admins and supervisors assign tickets.")
    now = now or timezone.now()
    with transaction.atomic():
        with _lock_wait_bounded():
            # The agent first, locked against a concurrent level change: that change waits for
            # this assignment and then sees it (`ticket_unassign_below_level`). Agent before
            # ticket, the order the level change takes too.
            agent = User.objects.select_for_update(no_key=True).filter(pk=agent_id).first()
        locked = _ticket_lock(ticket.pk)
        _precondition_check(locked, expected_version=expected_version, expected_status=None)
        error = agent_assignment_error(agent, locked)
        if error is not None:
            raise error
        previous = locked.agent_id
        locked.agent = agent
        locked.updated_at = now
        locked.version += 1
        first_response_meet(locked, actor=actor, now=now)
        locked.save(update_fields=["agent", "updated_at", "version", *FIRST_RESPONSE_FIELDS])
        # Auto-assignment's tie-break between equally loaded agents (the row is locked above).
        User.objects.filter(pk=agent.pk).update(last_assigned_at=now)
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


# Every status that is ESCALATED or can become it in one transition.
_ESCALATABLE = [
    s for s, targets in TRANSITIONS.items() if s == TicketStatus.ESCALATED or TicketStatus.ESCALATED in targets
]


def ticket_unassign_below_level(*, agent: User, actor: User | None = None, now: datetime | None = None) -> list:
    """After `agent`'s level changed (accounts' `user_level_changed`, in the transaction of the
    change): unassigns them from every live ticket the level rule no longer lets them hold,
    each with an `assigned` event and an `unassigned` notification. Returns those tickets.

    Every live ticket of the agent that is or may become ESCALATED is locked, not only the
    ESCALATED ones: an escalation still running (it read the old level) is waited for and then
    seen; the agent's row is already locked by the level change, so a concurrent assignment
    (`ticket_assign` locks the agent first) waits for this one and reads the new level.
    """
    if not agent_level_too_low(agent, TicketStatus.ESCALATED):
        return []
    now = now or timezone.now()
    released = []
    with transaction.atomic():
        with _lock_wait_bounded():
            tickets = list(
                Ticket.objects.alive().filter(agent=agent, status__in=_ESCALATABLE).order_by("pk").select_for_update()
            )
        for ticket in tickets:
            if ticket.status != TicketStatus.ESCALATED:
                continue
            rows = escalation_unassign(ticket, agent, actor=actor, now=now)
            ticket.updated_at = now
            ticket.version += 1
            ticket.save(update_fields=["agent", "updated_at", "version"])
            _unassign_save(rows)
            released.append(ticket)
    return released


EDITABLE_FIELDS = ("title", "description", "priority")


def ticket_update(*, ticket: Ticket, actor: User | None, now: datetime | None = None, **changes) -> Ticket:
    """Changes title, description or priority; records what changed (nothing changed → no event,
    same version)."""
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
        locked.version += 1
        locked.save(update_fields=[*diff, "updated_at", "version"])
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


def ticket_soft_delete(
    *, ticket: Ticket, actor: User | None, now: datetime | None = None, expected_version: int | None = None
) -> None:
    """Hides the ticket from the API (404 afterwards) and stops its SLA clock; the row and its
    audit trail stay. 409 `concurrent_update` when it is no longer at `expected_version`."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = _ticket_lock(ticket.pk)
        _precondition_check(locked, expected_version=expected_version, expected_status=None)
        locked.deleted_at = now
        locked.updated_at = now
        locked.sla_next_check_at = None
        locked.version += 1
        locked.save(update_fields=["deleted_at", "updated_at", "sla_next_check_at", "version"])
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
    ticket itself (status, agent, SLA clock, `updated_at`, `version`) does not change, so a note
    never conflicts with a concurrent change — except that a person's first comment on a ticket
    not answered yet records its first response (`first_responded_at`). 400 `invalid_comment` (blank, or longer than
    COMMENT_MAX_LENGTH characters), 404 `ticket_not_found` (deleted)."""
    text = (text or "").strip()
    if not text or len(text) > COMMENT_MAX_LENGTH:
        raise ValidationFailed(
            f"A comment needs 1 to {COMMENT_MAX_LENGTH} characters.",
            code=ErrorCode.INVALID_COMMENT,
            details={"text": f"1 to {COMMENT_MAX_LENGTH} characters."},
        )
    now = now or timezone.now()
    row = Ticket.objects.alive().filter(pk=ticket.pk).values_list("status", "first_responded_at").first()
    if row is None:
        raise NotFound("The ticket does not exist.", code=ErrorCode.TICKET_NOT_FOUND)
    status, responded = row
    with transaction.atomic():
        if actor is not None and responded is None:
            status = _comment_first_response(ticket.pk, actor=actor, now=now)
        return TicketEvent.objects.create(
            ticket_id=ticket.pk,
            actor=actor,
            kind=TicketEvent.Kind.COMMENTED,
            from_status=status,
            to_status=status,
            data={"text": text},
            created_at=now,
        )


def _comment_first_response(ticket_id, *, actor: User, now: datetime) -> str:
    """A person's comment on a ticket not answered yet is its first response: the one comment
    that locks the ticket (and so may meet a concurrent change: 409 `concurrent_update` after
    the lock timeout). Returns the status."""
    locked = _ticket_lock(ticket_id)
    if first_response_meet(locked, actor=actor, now=now):
        locked.save(update_fields=FIRST_RESPONSE_FIELDS)
    return locked.status
