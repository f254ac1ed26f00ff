"""SLA arithmetic: pure functions of instants and policy values, no database.

The service (on create, resolve, reopen), the serializers (slaBreached, slaRemainingMinutes),
the admin badge and the SLA sweep all compute from here.
"""

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tickets import calendars
from tickets.calendars import CalendarSpec
from tickets.states import CLOCK_STOPPED, ClientType

# Bounds of a policy's values: validators and CHECK constraints on SlaPolicy (tickets/models.py).
# A year is longer than any support commitment; the contract escalates "up to level 3".
MIN_TARGET_HOURS, MAX_TARGET_HOURS = 0.01, 24 * 365
MIN_ESCALATION_CEILING, MAX_ESCALATION_CEILING = 1, 3
MIN_WARNING_THRESHOLD, MAX_WARNING_THRESHOLD = 0.0, 1.0
MIN_FIRST_RESPONSE_MINUTES, MAX_FIRST_RESPONSE_MINUTES = 1, 365 * 24 * 60

# The two SLA targets of a ticket, as notifications and events name them (`data["target"]`).
TARGET_FIRST_RESPONSE, TARGET_RESOLUTION = "first_response", "resolution"

# The ends of what a datetime can hold. The arithmetic below clamps to them instead of raising
# OverflowError, whatever a policy row or a `--now` replay holds: past the latest instant is
# "never" for every practical purpose.
EARLIEST = datetime.min.replace(tzinfo=UTC)
LATEST = datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True)
class PolicyValues:
    target_hours: float
    breach_action: str
    escalation_ceiling: int = 3
    warning_threshold: float = 0.8
    first_response_minutes: int = 240
    # New and newly escalated tickets of the tier go to the least loaded agent (auto_assign.py).
    auto_assign: bool = False
    # The policy's business-hours calendar; None = 24x7 (tickets/calendars.py).
    calendar: CalendarSpec | None = None


# The contract's defaults. The data migration installs them as SlaPolicy rows; they are also
# the fallback when a tier has no row (e.g. a freshly flushed test database).
DEFAULT_POLICIES: dict[str, PolicyValues] = {
    ClientType.VIP: PolicyValues(target_hours=2.0, breach_action="ESCALATE", first_response_minutes=15),
    ClientType.NORMAL: PolicyValues(target_hours=24.0, breach_action="NOTIFY"),
}


def plus_hours(instant: datetime, hours: float, calendar: CalendarSpec | None = None) -> datetime:
    """`instant` + `hours`, clamped to [EARLIEST, LATEST]; an infinite or NaN `hours` is LATEST.
    With a calendar, `hours` of its open time (a clock started outside hours starts at the next
    opening)."""
    if calendar is not None:
        return calendars.plus_open_hours(calendar, instant, hours)
    try:
        return instant + timedelta(hours=hours)
    except (OverflowError, ValueError):  # out of range; NaN
        return EARLIEST if hours < 0 else LATEST


def _fraction(value: float) -> float:
    """`value` clamped to [0, 1] (NaN → 1: the warning never comes before the due time)."""
    return value if 0.0 <= value <= 1.0 else (0.0 if value < 0.0 else 1.0)


def due_at(created_at: datetime, target_hours: float, calendar: CalendarSpec | None = None) -> datetime:
    return plus_hours(created_at, target_hours, calendar)


def earliest(*instants: datetime | None) -> datetime | None:
    """The earliest of the instants given, ignoring None; None when there is none (the next SLA
    check of a ticket is the earliest pending instant of its targets)."""
    pending = [instant for instant in instants if instant is not None]
    return min(pending) if pending else None


def warning_at(
    created_at: datetime,
    due: datetime,
    warning_threshold: float,
    calendar: CalendarSpec | None = None,
    target_hours: float | None = None,
) -> datetime:
    """The instant `warning_threshold` of the window has elapsed (0.8 → 80 % of the time used).
    Never later than `due`, so it cannot overflow. With a calendar, that share of the target's
    *open* time (`target_hours` then required: the open time up to a clamped `due` is not the
    target)."""
    fraction = _fraction(warning_threshold)
    if calendar is None:
        return created_at + (due - created_at) * fraction
    if fraction >= 1.0:
        return due
    return min(due, plus_hours(created_at, target_hours * fraction, calendar))


def clock_start(policy: PolicyValues, now: datetime) -> tuple[datetime, datetime]:
    """(due, warning) of a clock started at `now` under `policy` (and its calendar)."""
    due = due_at(now, policy.target_hours, policy.calendar)
    return due, warning_at(now, due, policy.warning_threshold, policy.calendar, policy.target_hours)


def open_time_between(start: datetime, end: datetime, calendar=None) -> timedelta:
    """The time the SLA clock runs between `start` and `end` (never negative). Wall-clock while
    `calendar` is None; a business-hours calendar counts only its open hours."""
    if calendar is not None:
        return calendars.open_time_between(calendar, start, end)
    return max(end - start, timedelta(0))


def add_open_time(instant: datetime, duration: timedelta, calendar=None) -> datetime:
    """`instant` moved later by `duration` of running clock, clamped to LATEST. Wall-clock while
    `calendar` is None; with a calendar, `duration` of its open time."""
    if calendar is not None:
        return calendars.add_open_time(calendar, instant, duration)
    try:
        return instant + duration
    except OverflowError:
        return LATEST


def paused_minutes(duration: timedelta) -> float:
    """A pause as the audit trail records it: minutes, two decimals."""
    return round(duration.total_seconds() / 60, 2)


def first_response_next(
    *,
    due: datetime | None,
    warning: datetime | None,
    warned_at: datetime | None,
    responded_at: datetime | None,
    breached_at: datetime | None,
) -> datetime | None:
    """The first-response target's pending instant: its warning until sent, then its due time;
    None once met, breached, or when the ticket has no such target."""
    if due is None or responded_at is not None or breached_at is not None:
        return None
    return warning if warning is not None and warned_at is None else due


def next_check_on_reopen(*, warning: datetime | None, due: datetime, now: datetime) -> datetime:
    """A reopened ticket keeps its original due and warning times; its next SLA check is the
    warning instant if that is still ahead, else the due time (in the past means "look at it at
    the next sweep")."""
    return warning if warning is not None and now < warning else due


def remaining_minutes(
    *, due: datetime | None, clock_running: bool, now: datetime, paused_at: datetime | None = None
) -> int | None:
    """Whole minutes left (floored, so one second overdue is -1); frozen at the pause while the
    clock is paused (`paused_at`, WAITING_CUSTOMER); None when the clock is stopped."""
    if paused_at is not None:
        now, clock_running = paused_at, True  # what was left when the clock paused
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


def is_at_risk(*, warning: datetime | None, due: datetime | None, clock_running: bool, now: datetime) -> bool:
    """Past the ticket's own warning instant but not yet due, clock running (the Python twin of
    `tickets.selectors.at_risk_q`; callers check `is_breached` first)."""
    if warning is None or due is None or not clock_running:
        return False
    return warning <= now <= due


# The SQL twins of `is_breached` and `remaining_minutes` as JSON text, for list pages rendered by
# PostgreSQL (TicketOutput.sql_methods, techsupport/serializer_rows.py): `{column}` is a column of
# the ticket, `{now}` the response's instant. The minutes go through float8 as Python's do
# (seconds as a correctly rounded double, / 60, floored), so they agree to the microsecond.
_CLOCK_RUNNING_SQL = "({deleted_at} IS NULL AND {status} NOT IN (%s))" % ", ".join(  # noqa: UP031
    f"'{status}'" for status in sorted(CLOCK_STOPPED)
)
BREACHED_JSON_SQL = (
    "CASE WHEN {sla_breached_at} IS NOT NULL OR ({sla_due_at} IS NOT NULL AND ({resolved_at} > {sla_due_at} OR ("
    + _CLOCK_RUNNING_SQL
    + " AND {now} > {sla_due_at}))) THEN 'true' ELSE 'false' END"
)
REMAINING_MINUTES_JSON_SQL = (
    "CASE WHEN {sla_due_at} IS NULL THEN 'null' "
    "WHEN {sla_paused_at} IS NOT NULL "
    "THEN floor(extract(epoch FROM {sla_due_at} - {sla_paused_at})::float8 / 60)::bigint::text "
    "WHEN " + _CLOCK_RUNNING_SQL + " THEN floor(extract(epoch FROM {sla_due_at} - {now})::float8 / 60)::bigint::text "
    "ELSE 'null' END"
)
