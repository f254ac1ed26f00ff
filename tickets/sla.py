"""SLA arithmetic: pure functions of instants and policy values, no database.

The service (on create, resolve, reopen), the serializers (slaBreached, slaRemainingMinutes),
the admin badge and the SLA sweep all compute from here.
"""

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from tickets.states import ClientType


@dataclass(frozen=True)
class PolicyValues:
    target_hours: float
    breach_action: str
    escalation_ceiling: int = 3
    warning_threshold: float = 0.8


# The contract's defaults. The data migration installs them as SlaPolicy rows; they are also
# the fallback when a tier has no row (e.g. a freshly flushed test database).
DEFAULT_POLICIES: dict[str, PolicyValues] = {
    ClientType.VIP: PolicyValues(target_hours=2.0, breach_action="ESCALATE"),
    ClientType.NORMAL: PolicyValues(target_hours=24.0, breach_action="NOTIFY"),
}


def due_at(created_at: datetime, target_hours: float) -> datetime:
    return created_at + timedelta(hours=target_hours)


def warning_at(created_at: datetime, due: datetime, warning_threshold: float) -> datetime:
    """The instant `warning_threshold` of the window has elapsed (0.8 → 80 % of the time used)."""
    return created_at + (due - created_at) * warning_threshold


def next_check_on_reopen(*, created_at: datetime, due: datetime, warning_threshold: float, now: datetime) -> datetime:
    """A reopened ticket keeps its original due time; its next SLA check is the warning instant
    if that is still ahead, else the due time (in the past means "look at it at the next sweep")."""
    warning = warning_at(created_at, due, warning_threshold)
    return warning if now < warning else due


def remaining_minutes(*, due: datetime | None, clock_running: bool, now: datetime) -> int | None:
    """Whole minutes left (floored, so one second overdue is -1); None when the clock is stopped."""
    if due is None or not clock_running:
        return None
    return math.floor((due - now).total_seconds() / 60)


def is_breached(
    *,
    due: datetime | None,
    breached_at: datetime | None,
    resolved_at: datetime | None,
    clock_running: bool,
    now: datetime,
) -> bool:
    """Breached when a breach was recorded, when the ticket was resolved after its due time, or
    while the clock runs past the due time (before the sweep has recorded it)."""
    if breached_at is not None:
        return True
    if due is None:
        return False
    if resolved_at is not None and resolved_at > due:
        return True
    return clock_running and now > due


def is_at_risk(
    *, created_at: datetime, due: datetime | None, warning_threshold: float, clock_running: bool, now: datetime
) -> bool:
    """Past the warning instant but not yet due, clock running."""
    if due is None or not clock_running:
        return False
    return warning_at(created_at, due, warning_threshold) <= now <= due
