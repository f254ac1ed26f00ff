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

How it stays fast (the results are those of a day-by-day walk; tests/tickets/
test_calendars_equivalence.py holds the two together): a day whose open time is its weekday's
(no holiday, no offset change that day) is "regular", and a run of regular days holds a sum
known from its weekdays alone. Per local year a spec keeps, computed once, the few days that are
not regular (holidays on open weekdays, offset-change days whose spans come out different) with
their open time, and the year's total. A walk jumps whole years while the time left outlasts
them, then from one irregular day to the next, then whole weeks, and turns into instants only
the first day, the irregular days it stops on and the last day: a one-year target costs a step
per year plus a step per irregular day of its first and last years.
"""

import bisect
import functools
import itertools
import logging
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

logger = logging.getLogger(__name__)

EARLIEST = datetime.min.replace(tzinfo=UTC)
LATEST = datetime.max.replace(tzinfo=UTC)
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_MINUTES = 24 * 60
SEARCH_HORIZON_DAYS = 2 * 366
_DAY = timedelta(days=1)
_WEEK = timedelta(days=7)
_ZERO = timedelta(0)
_TICK = timedelta(microseconds=1)
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
        # Derived values, precomputed once (the dataclass stays frozen and hashable: none of
        # them is a field).
        day_minutes = tuple(sum(e - s for s, e in day) for day in self.weekly)
        prefix = tuple(itertools.accumulate((day_minutes[i % 7] for i in range(14)), initial=0))
        closed = [not minutes for minutes in day_minutes]
        derived = {
            "zone": ZoneInfo(self.zone_name),
            "week_open": timedelta(minutes=sum(day_minutes)),
            "_day_minutes": day_minutes,
            "_prefix": prefix,  # open minutes of weekdays [0, i), Monday first, over two weeks
            # Closed weekdays in a row from weekday w on, and just before it (0..6 with open hours).
            "_closed_from": tuple(_run_length(closed, w, +1) for w in range(7)),
            "_closed_before": tuple(_run_length(closed, w - 1, -1) for w in range(7)),
            "_holiday_list": tuple(sorted(self.holidays)),
            "_years": {},  # local year -> _Year, filled by _year()
        }
        for name, value in derived.items():
            object.__setattr__(self, name, value)


def _run_length(closed: list[bool], weekday: int, step: int) -> int:
    """Closed weekdays in a row from `weekday` going `step` (at most 7)."""
    count = 0
    while count < 7 and closed[(weekday + step * count) % 7]:
        count += 1
    return count


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


def _regular_open(spec: CalendarSpec, first: date, days: int) -> timedelta:
    """The open time of `days` regular local days from `first`: from their weekdays alone."""
    weeks, rest = divmod(days, 7)
    weekday = first.weekday()
    return timedelta(minutes=weeks * spec._prefix[7] + spec._prefix[weekday + rest] - spec._prefix[weekday])


@functools.lru_cache(maxsize=16384)
def _offset_change_days(zone_name: str, year: int) -> tuple[date, ...]:
    """The local days of `year` whose next local midnight is not 24 h after theirs (an offset
    change that day, read with fold=0 as `_utc` does). Found from local midnights a week apart,
    then day by day within a week whose two ends differ: a zone changing its offset and back
    within one week would go unseen (none does in the tz database from 1900 to 2100, checked
    against a day-by-day scan of every zone)."""
    zone = ZoneInfo(zone_name)
    midnight = datetime(year, 1, 1, tzinfo=zone)
    # Year 9999 stops at Dec 30 (the last day with a next day); _LAST_DAY is before it.
    end = datetime(year + 1, 1, 1, tzinfo=zone) if year < 9999 else datetime(year, 12, 31, tzinfo=zone)
    changes = []
    while midnight < end:
        week_end = min(midnight + _WEEK, end)
        if midnight.utcoffset() != week_end.utcoffset():
            day = midnight
            while day < week_end:
                if day.utcoffset() != (day + _DAY).utcoffset():
                    changes.append(day.date())
                day += _DAY
        midnight = week_end
    return tuple(changes)


class _Year(NamedTuple):
    """A local year of a spec: its days that are not regular (in order) and their open time,
    its whole open time, how many of its open weekdays have none (holidays, mostly), and how
    many days without open time end it."""

    days: tuple[date, ...]
    opens: tuple[timedelta, ...]
    open_time: timedelta
    emptied_days: int
    idle_at_end: int


def _year(spec: CalendarSpec, year: int) -> _Year:
    """The `_Year` of local `year`, computed once per spec and year. The days that are not
    regular are the holidays on open weekdays and the offset-change days whose spans come out
    different from their weekday's."""
    cached = spec._years.get(year)
    if cached is None:
        holidays = spec._holiday_list
        first, last = date(year, 1, 1), date(year, 12, 31)
        low, high = bisect.bisect_left(holidays, first), bisect.bisect_right(holidays, last)
        candidates = sorted(set(_offset_change_days(spec.zone_name, year)).union(holidays[low:high]))
        days, opens = [], []
        open_time = _regular_open(spec, first, (last - first).days + 1)
        for day in candidates:
            day_open = sum((end - start for start, end in _day_spans(spec, day)), _ZERO)
            regular = timedelta(minutes=spec._day_minutes[day.weekday()])
            if day_open != regular:
                days.append(day)
                opens.append(day_open)
                open_time += day_open - regular
        emptied = {day for day, day_open in zip(days, opens, strict=True) if not day_open}
        idle_at_end = 0
        for back in range((last - first).days + 1):
            day = last - back * _DAY
            if spec._day_minutes[day.weekday()] and day not in emptied:
                break  # an open day (a closed weekday is never irregular: no hours to change)
            idle_at_end += 1
        cached = spec._years[year] = _Year(tuple(days), tuple(opens), open_time, len(emptied), idle_at_end)
    return cached


def _next_exception(spec: CalendarSpec, day: date) -> tuple[date, timedelta | None]:
    """The first day at or after `day` that is not regular, with its open time, looking no further
    than the end of `day`'s year (or _LAST_DAY): (that bound, None) when there is none."""
    year = _year(spec, day.year)
    days, opens = year.days, year.opens
    index = bisect.bisect_left(days, day)
    if index < len(days) and days[index] <= _LAST_DAY:
        return days[index], opens[index]
    return (date(day.year + 1, 1, 1) if day.year < _LAST_DAY.year else _LAST_DAY + _DAY), None


def _used_up_in(spans, start: datetime, remaining: timedelta) -> tuple[datetime | None, timedelta]:
    """Walks `remaining` of open time through a day's spans from `start` on: (the instant it is
    used up, zero), or (None, what is left after the day)."""
    for span_start, span_end in spans:
        lower = max(span_start, start)
        if span_end > lower:
            if remaining <= span_end - lower:
                return lower + remaining, _ZERO
            remaining -= span_end - lower
    return None, remaining


def _used_up_in_regular_days(spec: CalendarSpec, day: date, remaining: timedelta) -> datetime:
    """The instant `remaining` of open time is used up in the run of regular days from `day`
    (the caller knows the run holds it): whole weeks at once, then day by day."""
    if remaining > spec.week_open:
        weeks = (remaining - _TICK) // spec.week_open  # leaves (0, week_open]
        day += weeks * _WEEK
        remaining -= weeks * spec.week_open
    while True:
        minutes = spec._day_minutes[day.weekday()]
        if minutes and remaining <= timedelta(minutes=minutes):
            return _used_up_in(_day_spans(spec, day), EARLIEST, remaining)[0]
        remaining -= timedelta(minutes=minutes)
        day += _DAY


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
    day = start.astimezone(spec.zone).date()
    if day > _LAST_DAY:
        return _clamped(spec, start, "past the last representable day")
    spans = _day_spans(spec, day)
    instant, remaining = _used_up_in(spans, start, remaining)
    if instant is not None:
        return instant
    idle_days = 0 if spans else 1  # days in a row without open time, as a day-by-day walk counts
    day += _DAY
    while day <= _LAST_DAY:
        if day.month == 1 and day.day == 1:
            # Whole years at once while the time left outlasts them and none can reach the
            # horizon: a run of days without open time holds at most 6 closed days around each
            # emptied open weekday, so 7 * emptied + 6 days, after the run the year starts with.
            number = day.year
            while number <= _LAST_DAY.year:
                year = spec._years.get(number) or _year(spec, number)
                if (
                    not year.open_time
                    or remaining <= year.open_time
                    or idle_days + 7 * year.emptied_days + 6 > SEARCH_HORIZON_DAYS
                ):
                    break
                remaining -= year.open_time
                idle_days = year.idle_at_end
                number += 1
            if number > day.year:
                day = date(number, 1, 1) if number <= _LAST_DAY.year else _LAST_DAY + _DAY
                continue
        exception, exception_open = _next_exception(spec, day)
        if exception > day:  # regular days [day, exception)
            days = (exception - day).days
            open_time = _regular_open(spec, day, days)
            if idle_days + min(spec._closed_from[day.weekday()], days) > SEARCH_HORIZON_DAYS:
                break
            if open_time and remaining <= open_time:
                return _used_up_in_regular_days(spec, day, remaining)
            remaining -= open_time
            idle_days = spec._closed_before[exception.weekday()] if open_time else idle_days + days
            day = exception
        if exception_open is not None:  # a holiday or an offset-change day
            if exception_open and remaining <= exception_open:
                return _used_up_in(_day_spans(spec, day), start, remaining)[0]
            remaining -= exception_open
            idle_days = 0 if exception_open else idle_days + 1
            if idle_days > SEARCH_HORIZON_DAYS:
                break
            day += _DAY
    else:
        return _clamped(spec, start, "past the last representable day")
    return _clamped(spec, start, "no open hours within the search horizon")


def open_time_between(spec: CalendarSpec | None, start: datetime, end: datetime) -> timedelta:
    """The calendar's open time within [start, end) (zero when end <= start); `spec` None:
    `end - start`."""
    if end <= start:
        return _ZERO
    if spec is None:
        return end - start
    first = start.astimezone(spec.zone).date()
    last = end.astimezone(spec.zone).date()
    total = _clipped_open(spec, first, start, end)
    if last > first:
        total += _open_days(spec, first + _DAY, last) + _clipped_open(spec, last, start, end)
    return total


def _clipped_open(spec: CalendarSpec, day: date, start: datetime, end: datetime) -> timedelta:
    total = _ZERO
    for span_start, span_end in _day_spans(spec, day):
        lower, upper = max(span_start, start), min(span_end, end)
        if upper > lower:
            total += upper - lower
    return total


def _open_days(spec: CalendarSpec, day: date, stop: date) -> timedelta:
    """The open time of the whole local days [day, stop): their weekdays' sum, corrected by the
    days that are not regular, a year at a time."""
    total = _ZERO
    while day < stop:
        run_end = min(stop, date(day.year + 1, 1, 1)) if day.year < _LAST_DAY.year else stop
        year = _year(spec, day.year)
        if day.month == 1 and day.day == 1 and run_end.year > day.year:
            total += year.open_time
        else:
            total += _regular_open(spec, day, (run_end - day).days)
            for index in range(bisect.bisect_left(year.days, day), bisect.bisect_left(year.days, run_end)):
                total += year.opens[index] - timedelta(minutes=spec._day_minutes[year.days[index].weekday()])
        day = run_end
    return total


def plus_open_hours(spec: CalendarSpec | None, instant: datetime, hours: float) -> datetime:
    """`add_open_time` with a number of hours, clamped like `sla.plus_hours` (infinite, NaN or
    out of range → LATEST; negative, 24x7 only → earlier)."""
    try:
        duration = timedelta(hours=hours)
    except (OverflowError, ValueError):
        return EARLIEST if hours < 0 else LATEST
    return add_open_time(spec, instant, duration)
