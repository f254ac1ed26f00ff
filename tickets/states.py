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


def allowed_targets(from_status: str) -> tuple[str, ...]:
    return TRANSITIONS.get(from_status, ())


def can_transition(from_status: str, to_status: str) -> bool:
    return to_status in allowed_targets(from_status)
