"""Auto-assignment: a tier that opts in (`SlaPolicy.auto_assign`) has its new tickets, and its
tickets escalated with no agent, assigned to the least loaded eligible agent.

Eligible: an active AGENT of the level the ticket's status needs (`min_agent_level`), accepting
auto-assignment (`User.accepts_auto_assignment`, off while on leave), holding fewer than
AUTO_ASSIGN_MAX_OPEN_PER_AGENT open tickets (live, not RESOLVED or CLOSED). Best: the fewest open
tickets, then the idlest (the oldest `last_assigned_at`; never assigned first), then the lowest id.
The decision, an agent or none, is an `assigned` event with `"auto": true` and the reason.

Concurrency (PostgreSQL). The ranking is read without locks. The chosen agent's row is then
locked (FOR NO KEY UPDATE, as `ticket_assign` locks it; SKIP LOCKED: an agent a concurrent
assignment holds is passed by, never waited for) and their open tickets counted again, in a
statement of its own: every assignment holds its agent's row lock until it commits, so this
count sees all of them and none is in flight. Two tickets created at once cannot both take an
agent's last slot. The lock is held until the caller's transaction ends. Never waiting means no
deadlock with the other paths that lock agents and tickets (in either order), at a price: a burst
of simultaneous tickets larger than the free agents leaves the excess unassigned (`agents_busy`).
See docs/adr/0013-auto-assignment.md.
"""

import heapq
from collections import Counter, defaultdict
from datetime import UTC, datetime

from django.conf import settings
from django.db.models import Count, F, FilteredRelation, Min, Q, QuerySet

from accounts.models import User
from accounts.roles import Role
from tickets.models import Ticket, TicketEvent
from tickets.states import UNFINISHED, min_agent_level

FEWEST_OPEN = "fewest_open_tickets"
NO_AGENT = "no_eligible_agent"
# Candidates there were, but concurrent assignments held them (never waited for: see above).
AGENTS_BUSY = "agents_busy"
# Never assigned sorts before any instant: the idlest.
_NEVER = datetime.min.replace(tzinfo=UTC)


# --- Selectors ---------------------------------------------------------------------------
def open_tickets_q(prefix: str = "", **ticket_filters) -> Q:
    """Open work: live tickets not RESOLVED or CLOSED (partial index `ticket_agent_open_idx`)."""
    conditions = {"deleted_at__isnull": True, "status__in": UNFINISHED, **ticket_filters}
    return Q(**{f"{prefix}{name}": value for name, value in conditions.items()})


def agents_with_load(agents: QuerySet[User], **ticket_filters) -> QuerySet[User]:
    """`agents` annotated with `open_tickets` and `oldest_open_at` (their oldest open ticket's
    createdAt), one grouped query: the open tickets are joined on the agent, filtered in the join
    itself, so an agent's finished history is never read. `ticket_filters` narrow the tickets
    counted (`client_type`, `created_at__gte`...)."""
    return agents.annotate(
        open_work=FilteredRelation("assigned_tickets", condition=open_tickets_q("assigned_tickets__", **ticket_filters))
    ).annotate(
        # The agent column, not the ticket's id: both aggregates then read the index alone.
        open_tickets=Count("open_work__agent_id"),
        oldest_open_at=Min("open_work__created_at"),
    )


def _eligible(min_level: int) -> QuerySet[User]:
    return User.objects.filter(role=Role.AGENT, is_active=True, accepts_auto_assignment=True, level__gte=min_level)


def auto_assign_candidates(*, min_level: int) -> QuerySet[User]:
    """The agents auto-assignment may pick for a ticket needing `min_level`, best first (fewest
    open tickets, idlest, lowest id), those at the cap left out. Read without locks."""
    cap = settings.AUTO_ASSIGN_MAX_OPEN_PER_AGENT
    return (
        agents_with_load(_eligible(min_level))
        .filter(open_tickets__lt=cap)
        .order_by("open_tickets", F("last_assigned_at").asc(nulls_first=True), "id")
    )


def _lock_and_count(agent_id, min_level: int) -> int | None:
    """The agent's open tickets counted under their row lock; None when a concurrent assignment
    holds the row or the agent is no longer eligible. Two statements: the count must read after
    the lock is held (a count in the locking statement would read its snapshot from before)."""
    locked = _eligible(min_level).filter(pk=agent_id).select_for_update(no_key=True, skip_locked=True)
    if not list(locked.values_list("pk", flat=True)):
        return None
    return Ticket.objects.filter(open_tickets_q(agent_id=agent_id)).count()


# --- The service -------------------------------------------------------------------------
class _Ranking:
    """The candidates as a heap of (open tickets, last assigned, id, locked by us). `pending`
    counts the tickets given to each agent by this call and not saved yet (no query sees them)."""

    def __init__(self, candidates: QuerySet[User], *, min_level: int, cap: int, pending: Counter):
        rows = candidates.values_list("open_tickets", "last_assigned_at", "pk")
        self.heap = [(count + pending[pk], last or _NEVER, pk, False) for count, last, pk in rows]
        heapq.heapify(self.heap)
        self.size = len(self.heap)
        self.busy = 0  # candidates passed by: locked by a concurrent assignment, or no longer eligible
        self.min_level, self.cap, self.pending = min_level, cap, pending

    def take(self, now: datetime) -> tuple[object, int] | None:
        """The best agent with a free slot (locked first), and their open tickets before this one."""
        while self.heap:
            count, last, pk, locked = heapq.heappop(self.heap)
            if not locked:
                fresh = _lock_and_count(pk, self.min_level)
                if fresh is None:
                    self.busy += 1
                    continue
                fresh += self.pending[pk]
                if fresh != count:  # moved since the ranking was read: ranked again
                    heapq.heappush(self.heap, (fresh, last, pk, True))
                    continue
            if count >= self.cap:
                continue
            heapq.heappush(self.heap, (count + 1, now, pk, True))
            self.pending[pk] += 1
            return pk, count
        return None


def _decision(ticket: Ticket, *, now: datetime, data: dict) -> TicketEvent:
    return TicketEvent(
        ticket=ticket,
        actor=None,
        kind=TicketEvent.Kind.ASSIGNED,
        from_status=ticket.status,
        to_status=ticket.status,
        data={"fromAgentId": None, "auto": True, **data},
        created_at=now,
    )


def tickets_auto_assign(tickets: list[Ticket], *, now: datetime) -> list[TicketEvent]:
    """Assigns each ticket (in memory: `ticket.agent_id`) to the best eligible agent, or to none,
    and returns the *unsaved* `assigned` events, one per ticket, in order. The caller has locked
    the tickets (or is creating them), checked that their tier opts in and that they have no
    agent; it saves their `agent` and the events in its transaction, which also holds the chosen
    agents' row locks. The chosen agents' `last_assigned_at` is written here."""
    by_level: dict[int, list[Ticket]] = defaultdict(list)
    for ticket in tickets:
        by_level[min_agent_level(ticket.status)].append(ticket)
    cap = settings.AUTO_ASSIGN_MAX_OPEN_PER_AGENT
    events, pending = {}, Counter()
    # The stricter group first, so the senior agents go to the tickets only they may take.
    for min_level, group in sorted(by_level.items(), reverse=True):
        ranking = _Ranking(auto_assign_candidates(min_level=min_level), min_level=min_level, cap=cap, pending=pending)
        for ticket in group:
            events[id(ticket)] = _assign_one(ticket, ranking, now=now)
    if pending:
        User.objects.filter(pk__in=list(pending)).update(last_assigned_at=now)
    return [events[id(ticket)] for ticket in tickets]


def _assign_one(ticket: Ticket, ranking: _Ranking, *, now: datetime) -> TicketEvent:
    facts = {"candidates": ranking.size, "requiredLevel": ranking.min_level, "cap": ranking.cap}
    taken = ranking.take(now)
    if taken is None and ranking.busy:
        note = (
            f"the {ranking.busy} eligible agent(s) at level >= {ranking.min_level} with a free slot were being "
            "assigned other tickets at the same moment"
        )
        return _decision(ticket, now=now, data={"toAgentId": None, "reason": AGENTS_BUSY, "note": note, **facts})
    if taken is None:
        note = (
            f"no agent free among {ranking.size} eligible at level >= {ranking.min_level} "
            f"(active, accepting auto-assignment, below {ranking.cap} open tickets)"
        )
        return _decision(ticket, now=now, data={"toAgentId": None, "reason": NO_AGENT, "note": note, **facts})
    agent_id, count = taken
    ticket.agent_id = agent_id
    note = f"fewest open tickets ({count}) among {ranking.size} eligible agents at level >= {ranking.min_level}"
    data = {"toAgentId": str(agent_id), "reason": FEWEST_OPEN, "note": note, "openTickets": count, **facts}
    return _decision(ticket, now=now, data=data)
