"""Reads on clients and tickets for the API (the admin builds its own querysets)."""

from datetime import datetime

from django.db.models import Count, F, Q, QuerySet

from accounts.models import User
from accounts.roles import Role
from tickets import sla
from tickets.auto_assign import agents_with_load
from tickets.models import Client, SlaPolicy, Ticket, TicketEvent
from tickets.services import ESCALATED_MIN_AGENT_LEVEL
from tickets.states import CLOCK_STOPPED, FINISHED, TicketStatus


def client_list(*, type: str | None = None, q: str | None = None) -> QuerySet[Client]:
    clients = Client.objects.order_by("name", "id")
    if type:
        clients = clients.filter(type=type)
    if q:
        clients = clients.filter(Q(name__icontains=q) | Q(company__icontains=q) | Q(email__icontains=q))
    return clients


def client_get(client_id) -> Client | None:
    return Client.objects.filter(pk=client_id).first()


def past_due_q(now: datetime) -> Q:
    """Clock running and past the due time, whether or not a sweep has recorded the breach yet."""
    return Q(sla_due_at__lt=now) & ~Q(status__in=CLOCK_STOPPED)


def breached_stamped_q() -> Q:
    """Breaches already recorded: the SLA sweep stamps `sla_breached_at` within a minute of the
    due time, and so does a late resolution. Partial index `ticket_live_breached_idx`."""
    return Q(sla_breached_at__isnull=False)


def breached_unstamped_q(now: datetime) -> Q:
    """Past due and not stamped yet (the last minute's, while the sweep runs): a short range of
    partial index `ticket_live_unstamped_due_idx`. Disjoint from `breached_stamped_q`."""
    return Q(sla_breached_at__isnull=True) & past_due_q(now)


def breached_q(now: datetime) -> Q:
    """The SQL twin of `sla.is_breached` (late resolutions are stamped in sla_breached_at)."""
    return breached_stamped_q() | breached_unstamped_q(now)


def at_risk_q(now: datetime) -> Q:
    """The SQL twin of `sla.is_at_risk` for tickets not breached: clock running, past the
    warning instant the ticket got when its clock started, not yet due. Partial index
    `ticket_live_unstamped_warn_idx`."""
    return Q(sla_warning_at__lte=now, sla_due_at__gte=now, sla_breached_at__isnull=True) & ~Q(status__in=CLOCK_STOPPED)


def ticket_at_risk_count(*, now: datetime) -> int:
    """Live tickets at risk (the metrics gauge)."""
    return Ticket.objects.alive().filter(at_risk_q(now)).count()


def ticket_past_due_count(*, now: datetime) -> int:
    """Live tickets whose clock runs past their due time (the metrics gauge)."""
    return Ticket.objects.alive().filter(past_due_q(now)).count()


def ticket_list(
    *,
    now: datetime,
    status: str | None = None,
    priority: int | None = None,
    client_id=None,
    client_type: str | None = None,
    agent_id=None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    sla_breached: bool | None = None,
) -> QuerySet[Ticket]:
    """Live tickets, newest first; every filter is optional and they combine with AND."""
    tickets = Ticket.objects.alive().order_by("-created_at", "-id")
    if status:
        tickets = tickets.filter(status=status)
    if priority is not None:
        tickets = tickets.filter(priority=priority)
    if client_id is not None:
        tickets = tickets.filter(client_id=client_id)
    if client_type:
        tickets = tickets.filter(client_type=client_type)
    if agent_id is not None:
        tickets = tickets.filter(agent_id=agent_id)
    if created_from is not None:
        tickets = tickets.filter(created_at__gte=created_from)
    if created_to is not None:
        tickets = tickets.filter(created_at__lte=created_to)
    if sla_breached is True:
        tickets = tickets.filter(breached_q(now))
    elif sla_breached is False:
        tickets = tickets.exclude(breached_q(now))
    return tickets


def ticket_list_branches(*, now: datetime, sla_breached: bool | None = None, **filters) -> list[QuerySet[Ticket]]:
    """`ticket_list` as disjoint querysets whose union is the same tickets, each answerable from
    one index in the list's order: `slaBreached=true` is two (stamped, not yet stamped), as one
    OR no index serves it in order. Same arguments as `ticket_list`."""
    if sla_breached is not True:
        return [ticket_list(now=now, sla_breached=sla_breached, **filters)]
    tickets = ticket_list(now=now, **filters)
    return [tickets.filter(breached_stamped_q()), tickets.filter(breached_unstamped_q(now))]


def tickets_by_id(ticket_ids) -> dict:
    """{id: ticket} for these ids, soft-deleted ones included (the projection of the live state)."""
    return Ticket.objects.in_bulk(list(ticket_ids))


def ticket_get(ticket_id) -> Ticket | None:
    return Ticket.objects.alive().filter(pk=ticket_id).first()


def ticket_event_list(*, ticket: Ticket) -> QuerySet[TicketEvent]:
    return TicketEvent.objects.filter(ticket=ticket).select_related("actor").order_by("created_at", "id")


def agents_eligible_for(ticket: Ticket) -> QuerySet[User]:
    """The agents `ticket_assign` would accept for this ticket now: active AGENTs, of level 2 or
    more while it is ESCALATED; most senior first."""
    agents = User.objects.filter(role=Role.AGENT, is_active=True)
    if ticket.status == TicketStatus.ESCALATED:
        agents = agents.filter(level__gte=ESCALATED_MIN_AGENT_LEVEL)
    return agents.order_by("-level", "email")


# --- SLA summaries (the dashboard and the reports read them) -------------------------------
def sla_target_minutes_by_tier() -> dict[str, float]:
    """SLA target per client tier, in minutes, from the policies editable in the admin; a tier
    without a policy row falls back to the contract's default, as the SLA clock does."""
    targets = {tier: policy.target_hours * 60 for tier, policy in sla.DEFAULT_POLICIES.items()}
    for policy in SlaPolicy.objects.only("client_type", "target_hours"):
        targets[policy.client_type] = float(policy.target_hours) * 60
    return targets


def ticket_open_summary(*, now: datetime) -> list[dict]:
    """Live open tickets (not FINISHED: a WAITING_CUSTOMER ticket, its clock paused, counts) per
    tier and status, with how many have breached and how many are at risk (`at_risk_q`) - one
    grouped query, for the dashboard."""
    breached = breached_q(now)
    rows = (
        Ticket.objects.alive()
        .exclude(status__in=FINISHED)
        .values("client_type", "status")
        .annotate(
            tickets=Count("id"),
            breached=Count("id", filter=breached),
            at_risk=Count("id", filter=at_risk_q(now) & ~breached),
        )
        .order_by("client_type", "status")
    )
    return [
        {
            "clientType": row["client_type"],
            "status": row["status"],
            "tickets": row["tickets"],
            "breached": row["breached"],
            "atRisk": row["at_risk"],
        }
        for row in rows
    ]


# --- Agent load (the agent-load report and the dashboard read it) ---------------------------
AGENT_LOAD_FIELDS = ("id", "name", "email", "level", "is_active", "accepts_auto_assignment")


def agent_load_list(
    *,
    now: datetime,
    client_type: str | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
) -> list[dict]:
    """Per agent: their open tickets (live, not RESOLVED or CLOSED) and the oldest one's age, in
    one grouped query. Every active agent, and an inactive one still holding open tickets; the
    most loaded first, then the oldest open ticket first, then by email. The filters narrow the
    tickets counted (tier; createdAt, inclusive). The oldest open ticket's age is whole minutes
    at `now`."""
    filters: dict = {}
    if client_type:
        filters["client_type"] = client_type
    if created_from is not None:
        filters["created_at__gte"] = created_from
    if created_to is not None:
        filters["created_at__lte"] = created_to
    agents = (
        agents_with_load(User.objects.filter(role=Role.AGENT).only(*AGENT_LOAD_FIELDS), **filters)
        .filter(Q(is_active=True) | Q(open_tickets__gt=0))
        .order_by("-open_tickets", F("oldest_open_at").asc(nulls_last=True), "email")
    )
    return [_agent_load_row(agent, now) for agent in agents]


def _agent_load_row(agent: User, now: datetime) -> dict:
    oldest = agent.oldest_open_at
    return {
        "agent_id": agent.pk,
        "name": agent.name,
        "email": agent.email,
        "level": agent.level,
        "active": agent.is_active,
        "accepts_auto_assignment": agent.accepts_auto_assignment,
        "open_tickets": agent.open_tickets,
        "oldest_open_created_at": oldest,
        "oldest_open_age_minutes": None if oldest is None else max(0, int((now - oldest).total_seconds() // 60)),
    }
