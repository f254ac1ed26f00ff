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


TRANSITIONS: dict[str, tuple[str, ...]] = {
    TicketStatus.OPEN: (TicketStatus.IN_PROGRESS, TicketStatus.ESCALATED),
    TicketStatus.IN_PROGRESS: (TicketStatus.RESOLVED, TicketStatus.ESCALATED),
    TicketStatus.ESCALATED: (TicketStatus.IN_PROGRESS,),
    TicketStatus.RESOLVED: (TicketStatus.CLOSED, TicketStatus.IN_PROGRESS),
    TicketStatus.CLOSED: (),
}

# The SLA clock stops in these states.
CLOCK_STOPPED = frozenset({TicketStatus.RESOLVED, TicketStatus.CLOSED})
# A ticket in any other state is open work: what an agent's load counts (auto-assignment, the
# agent-load report). A tuple, in the table's order, for stable SQL.
UNFINISHED = tuple(status for status in TicketStatus.values if status not in CLOCK_STOPPED)

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
