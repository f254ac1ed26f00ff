"""Business-hours arithmetic: pure functions of instants and a calendar value, no database.

A `CalendarSpec` is the immutable, hashable form of a `BusinessCalendar` row and its holidays
(built once per process and calendar version by `tickets.selectors.calendar_spec_of`). With
`spec=None` every function is the 24x7 clock of `tickets/sla.py` (`plus_hours`), exactly.

How time is counted (docs/adr/0015-business-calendars.md):
- Working hours are local wall-clock intervals of the calendar's zone, per weekday, half-open
  `[start, end)`; a holiday date has none. Each interval is mapped to the two instants its local
  ends denote and the *real* time between them is open time. An office day 09:00-17:00 is 8 h
  on a DST night too; an interval across the change hour is one hour shorter (spring) or longer
  (autumn), as the clock on the wall says.
- A local end that does not exist (spring gap) or exists twice (autumn fold) is resolved by
  zoneinfo's `fold=0` rule: the offset in force before the change. An interval that thereby ends
  before it starts is empty, and an interval never starts before the previous one of its day ends.
- `add_open_time` returns the earliest instant at which `duration` of open time has elapsed;
  used up exactly at the end of an interval, that end (Friday 17:00, not Monday 09:00). A zero
  duration is the first open instant at or after `start`: a clock started outside hours starts
  at the next opening.
- Searches are bounded: no open time for SEARCH_HORIZON_DAYS in a row (e.g. every open day a
  holiday) or past the year 9999 → `LATEST`, logged.
"""

import bisect
import itertools
import logging
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

logger = logging.getLogger(__name__)

EARLIEST = datetime.min.replace(tzinfo=UTC)
LATEST = datetime.max.replace(tzinfo=UTC)
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_MINUTES = 24 * 60
SEARCH_HORIZON_DAYS = 2 * 366
_WEEK = timedelta(days=7)
_ZERO = timedelta(0)
_LAST_DAY = date(9999, 12, 24)  # leaves a week of room for the day arithmetic below
_HHMM = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)$")

Interval = tuple[int, int]  # local minutes from midnight, [start, end), 0..1440


@dataclass(frozen=True)
class CalendarSpec:
    """A calendar as values: zone name, open intervals per weekday (Monday first), holidays."""

    zone_name: str
    weekly: tuple[tuple[Interval, ...], ...]
    holidays: frozenset[date] = frozenset()

    def __post_init__(self):
        # Derived values, precomputed once (the dataclass stays frozen and hashable).
        object.__setattr__(self, "zone", ZoneInfo(self.zone_name))
        object.__setattr__(self, "week_open", timedelta(minutes=sum(e - s for day in self.weekly for s, e in day)))
        object.__setattr__(self, "_holiday_list", tuple(sorted(self.holidays)))

    def holiday_within(self, first: date, last: date) -> bool:
        """Is any holiday in [first, last]?"""
        index = bisect.bisect_left(self._holiday_list, first)
        return index < len(self._holiday_list) and self._holiday_list[index] <= last


class CalendarError(ValueError):
    """Invalid calendar input; `errors` maps a field (a day key, "time_zone") to its message."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{key}: {message}" for key, message in errors.items()))
        self.errors = errors


# --- Validation and parsing --------------------------------------------------------------
def zone_check(name: str) -> str:
    """The IANA zone name if zoneinfo knows it, else CalendarError."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise CalendarError({"time_zone": f"Unknown IANA time zone: {name!r}."}) from exc
    return name


def _minutes(text: str) -> int:
    match = _HHMM.match(str(text).strip())
    if match is None or (match[1] == "24" and match[2] != "00"):
        raise ValueError(f"{text!r} is not a time HH:MM between 00:00 and 24:00.")
    return int(match[1]) * 60 + int(match[2])


def _day_intervals(pairs) -> tuple[Interval, ...]:
    if not isinstance(pairs, list | tuple):
        raise ValueError("Expected a list of [start, end] pairs.")
    intervals = []
    for pair in pairs:
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            raise ValueError("Each interval is a [start, end] pair.")
        start, end = _minutes(pair[0]), _minutes(pair[1])
        if start >= end:
            raise ValueError(f"{pair[0]}-{pair[1]}: the start must be before the end.")
        intervals.append((start, end))
    intervals.sort()
    for (_, end), (start, _) in itertools.pairwise(intervals):
        if start < end:
            raise ValueError("Intervals overlap.")
    return tuple(intervals)


def weekly_parse(data) -> tuple[tuple[Interval, ...], ...]:
    """`{"mon": [["09:00", "17:00"]], ...}` (missing days closed) → intervals per weekday.
    CalendarError with a message per faulty day; also when the week has no open hour at all."""
    if not isinstance(data, dict):
        raise CalendarError({"weekly_hours": "Expected an object keyed by mon..sun."})
    errors = {key: "Unknown day (use mon..sun)." for key in data if key not in DAYS}
    weekly = []
    for day in DAYS:
        try:
            weekly.append(_day_intervals(data.get(day) or []))
        except ValueError as exc:
            errors[day] = str(exc)
    if errors:
        raise CalendarError(errors)
    if not any(weekly):
        raise CalendarError({"weekly_hours": "A calendar needs at least one open interval in the week."})
    return tuple(weekly)


def hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def day_text(intervals) -> str:
    """Intervals as the admin shows them: "09:00-13:00, 14:00-18:00"."""
    return ", ".join(f"{hhmm(s)}-{hhmm(e)}" for s, e in intervals)


def day_text_parse(text: str) -> list[list[str]]:
    """The admin's "09:00-13:00, 14:00-18:00" → [["09:00", "13:00"], ["14:00", "18:00"]]."""
    pairs = []
    for part in (text or "").split(","):
        if part.strip():
            bounds = [bound.strip() for bound in part.split("-")]
            if len(bounds) != 2:
                raise ValueError(f"{part.strip()!r} is not a range HH:MM-HH:MM.")
            pairs.append(bounds)
    return pairs


# --- Instants of a local day -------------------------------------------------------------
def _utc(spec: CalendarSpec, day: date, minutes: int) -> datetime:
    """The instant of local `day` + `minutes` (fold=0 for a gap or a fold)."""
    if minutes >= DAY_MINUTES:
        day, minutes = day + timedelta(days=1), minutes - DAY_MINUTES
    local = datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=spec.zone)
    return local.astimezone(UTC)


def _day_spans(spec: CalendarSpec, day: date) -> list[tuple[datetime, datetime]]:
    """The open spans of a local day as instants, in order, non-overlapping, non-empty."""
    if day in spec.holidays:
        return []
    intervals = spec.weekly[day.weekday()]
    if not intervals:
        return []
    midnight = _utc(spec, day, 0)
    if _utc(spec, day, DAY_MINUTES) - midnight == timedelta(days=1):  # no offset change that day
        return [(midnight + timedelta(minutes=s), midnight + timedelta(minutes=e)) for s, e in intervals]
    spans, previous_end = [], EARLIEST
    for s, e in intervals:
        start, end = max(_utc(spec, day, s), previous_end), _utc(spec, day, e)
        if end > start:
            spans.append((start, end))
            previous_end = end
    return spans


def _week_is_regular(spec: CalendarSpec, day: date) -> bool:
    """Do the 7 local days from `day` hold exactly `week_open` (no holiday, no offset change)?"""
    if spec.holiday_within(day, day + timedelta(days=6)):
        return False
    return _utc(spec, day + _WEEK, 0) - _utc(spec, day, 0) == _WEEK


def _clamped(spec: CalendarSpec, start: datetime, why: str) -> datetime:
    logger.warning(
        "business calendar search clamped to LATEST", extra={"zone": spec.zone_name, "start": str(start), "why": why}
    )
    return LATEST


# --- The arithmetic ----------------------------------------------------------------------
def add_open_time(spec: CalendarSpec | None, start: datetime, duration: timedelta) -> datetime:
    """The earliest instant at which `duration` of the calendar's open time has elapsed since
    `start` (see the module docstring); `spec` None: `start + duration`. Clamped to LATEST."""
    if spec is None:
        try:
            return start + duration
        except OverflowError:
            return EARLIEST if duration < _ZERO else LATEST
    if not spec.week_open:
        return _clamped(spec, start, "no open hours in the week")
    remaining = max(duration, _ZERO)
    first = day = start.astimezone(spec.zone).date()
    idle_days = 0
    while day <= _LAST_DAY:
        if remaining > spec.week_open and day > first and _week_is_regular(spec, day):
            remaining -= spec.week_open
            day += _WEEK
            continue
        spans = _day_spans(spec, day)
        for span_start, span_end in spans:
            lower = max(span_start, start)
            if span_end > lower:
                if remaining <= span_end - lower:
                    return lower + remaining
                remaining -= span_end - lower
        idle_days = 0 if spans else idle_days + 1
        if idle_days > SEARCH_HORIZON_DAYS:
            return _clamped(spec, start, "no open hours within the search horizon")
        day += timedelta(days=1)
    return _clamped(spec, start, "past the last representable day")


def open_time_between(spec: CalendarSpec | None, start: datetime, end: datetime) -> timedelta:
    """The calendar's open time within [start, end) (zero when end <= start); `spec` None:
    `end - start`."""
    if end <= start:
        return _ZERO
    if spec is None:
        return end - start
    total = _ZERO
    first = day = start.astimezone(spec.zone).date()
    last = end.astimezone(spec.zone).date()
    while day <= last:
        if day > first and day + _WEEK <= last and _week_is_regular(spec, day):
            total += spec.week_open
            day += _WEEK
            continue
        for span_start, span_end in _day_spans(spec, day):
            lower, upper = max(span_start, start), min(span_end, end)
            if upper > lower:
                total += upper - lower
        day += timedelta(days=1)
    return total


def plus_open_hours(spec: CalendarSpec | None, instant: datetime, hours: float) -> datetime:
    """`add_open_time` with a number of hours, clamped like `sla.plus_hours` (infinite, NaN or
    out of range → LATEST; negative, 24x7 only → earlier)."""
    try:
        duration = timedelta(hours=hours)
    except (OverflowError, ValueError):
        return EARLIEST if hours < 0 else LATEST
    return add_open_time(spec, instant, duration)
