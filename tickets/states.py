"""The ticket state machine and the client tiers: the one place these rules live.

The service (`ticket_change_status`), the API's error details, the admin actions, the SLA sweep
and the Excel validation all read this module.
"""

from django.db import models


class ClientType(models.TextChoices):
    VIP = "VIP", "VIP"
    NORMAL = "NORMAL", "Normal"


class TicketStatus(models.TextChoices):
    OPEN = "OPEN", "Open"
    IN_PROGRESS = "IN_PROGRESS", "In progress"
    RESOLVED = "RESOLVED", "Resolved"
    CLOSED = "CLOSED", "Closed"
    ESCALATED = "ESCALATED", "Escalated"
    # Waiting on the customer's answer: still open (lists, reports, the agent's load), but its
    # SLA clock is paused; leaving it moves the ticket's due instants by the paused time.
    WAITING_CUSTOMER = "WAITING_CUSTOMER", "Waiting on customer"


TRANSITIONS: dict[str, tuple[str, ...]] = {
    TicketStatus.OPEN: (TicketStatus.IN_PROGRESS, TicketStatus.ESCALATED),
    TicketStatus.IN_PROGRESS: (TicketStatus.RESOLVED, TicketStatus.ESCALATED, TicketStatus.WAITING_CUSTOMER),
    TicketStatus.ESCALATED: (TicketStatus.IN_PROGRESS, TicketStatus.WAITING_CUSTOMER),
    TicketStatus.WAITING_CUSTOMER: (TicketStatus.IN_PROGRESS, TicketStatus.RESOLVED),
    TicketStatus.RESOLVED: (TicketStatus.CLOSED, TicketStatus.IN_PROGRESS),
    TicketStatus.CLOSED: (),
}

# The work is done: the ticket is no longer open (lists of open tickets, the dashboard, load).
FINISHED = frozenset({TicketStatus.RESOLVED, TicketStatus.CLOSED})
# The SLA clock is paused, not finished: the ticket is open, but no SLA action fires.
CLOCK_PAUSED = frozenset({TicketStatus.WAITING_CUSTOMER})
# The SLA clock does not run in these states (no warning, breach or escalation; no next check).
CLOCK_STOPPED = FINISHED | CLOCK_PAUSED
# A ticket in any other state is open work: what an agent's load counts (auto-assignment, the
# agent-load report); WAITING_CUSTOMER included. A tuple, in the table's order, for stable SQL.
UNFINISHED = tuple(status for status in TicketStatus.values if status not in FINISHED)

# The level rule: an ESCALATED ticket needs an agent of at least this level; any other status,
# any agent (levels start at 1). tickets/services.py enforces it (`agent_level_too_low`).
ESCALATED_MIN_AGENT_LEVEL = 2


def min_agent_level(status: str) -> int:
    """The lowest agent level a ticket in `status` may be assigned to."""
    return ESCALATED_MIN_AGENT_LEVEL if status == TicketStatus.ESCALATED else 1


def allowed_targets(from_status: str) -> tuple[str, ...]:
    return TRANSITIONS.get(from_status, ())


def can_transition(from_status: str, to_status: str) -> bool:
    return to_status in allowed_targets(from_status)
