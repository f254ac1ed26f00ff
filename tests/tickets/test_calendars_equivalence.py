"""The fast walks of tickets/calendars.py against a day-by-day reference: random calendars (DST
zones, holidays, long holiday stretches), starts and long durations give the same instants."""

from datetime import UTC, date, datetime, timedelta

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tickets import calendars
from tickets.calendars import CalendarSpec, add_open_time, open_time_between

DAY = timedelta(days=1)
H = timedelta(hours=1)
# DST north and south, a 30-minute DST (Lord Howe), changes at local midnight (Havana, Beirut,
# Sao Paulo until 2019), Ramadan suspensions (Casablanca), a 45-minute offset, none at all.
ZONES = (
    "Europe/Madrid",
    "America/New_York",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "America/Havana",
    "Asia/Beirut",
    "America/Sao_Paulo",
    "Africa/Casablanca",
    "America/Santiago",
    "Pacific/Chatham",
    "Asia/Kolkata",
    "UTC",
)


# --- The reference: every day turned into instants, one after the other ---------------------
def reference_add(spec: CalendarSpec, start: datetime, duration: timedelta) -> datetime:
    remaining = max(duration, timedelta(0))
    day = start.astimezone(spec.zone).date()
    idle_days = 0
    while day <= calendars._LAST_DAY:
        spans = calendars._day_spans(spec, day)
        for span_start, span_end in spans:
            lower = max(span_start, start)
            if span_end > lower:
                if remaining <= span_end - lower:
                    return lower + remaining
                remaining -= span_end - lower
        idle_days = 0 if spans else idle_days + 1
        if idle_days > calendars.SEARCH_HORIZON_DAYS:
            return calendars.LATEST
        day += DAY
    return calendars.LATEST


def reference_between(spec: CalendarSpec, start: datetime, end: datetime) -> timedelta:
    total = timedelta(0)
    day, last = start.astimezone(spec.zone).date(), end.astimezone(spec.zone).date()
    while day <= last:
        for span_start, span_end in calendars._day_spans(spec, day):
            lower, upper = max(span_start, start), min(span_end, end)
            if upper > lower:
                total += upper - lower
        day += DAY
    return total


# --- Random calendars ----------------------------------------------------------------------
# Interval ends on the half hour, 00:00 to 24:00: many fall on a change hour (01:00-03:00).
day_intervals = st.lists(st.integers(0, 48), unique=True, max_size=6).map(
    lambda ends: tuple(zip(sorted(ends)[0::2], sorted(ends)[1::2], strict=False))
)
day_intervals = day_intervals.map(lambda pairs: tuple((s * 30, e * 30) for s, e in pairs))


@st.composite
def calendar_specs(draw) -> CalendarSpec:
    weekly = tuple(draw(day_intervals) for _ in range(7))
    assume(any(weekly))
    holidays = set(draw(st.lists(st.dates(date(2016, 1, 1), date(2031, 12, 31)), max_size=40)))
    if draw(st.booleans()):  # a stretch of holidays, sometimes longer than the search horizon
        first = draw(st.dates(date(2016, 1, 1), date(2029, 12, 31)))
        holidays.update(first + n * DAY for n in range(draw(st.integers(1, 800))))
    return CalendarSpec(draw(st.sampled_from(ZONES)), weekly, frozenset(holidays))


instants = st.datetimes(min_value=datetime(2016, 1, 1), max_value=datetime(2029, 12, 31)).map(
    lambda naive: naive.replace(tzinfo=UTC)
)


def week_minutes(spec: CalendarSpec) -> int:
    return sum(e - s for day in spec.weekly for s, e in day)


@st.composite
def durations(draw, spec: CalendarSpec, start: datetime) -> timedelta:
    """Up to a one-year target, or 160 of the calendar's weeks when that is less (the reference
    walks every day): any length with a sub-minute remainder, none, whole weeks of open time,
    or the open time up to an instant (used up exactly at a span's end when it is closed)."""
    longest = min(8760 * 60, week_minutes(spec) * 160)
    mode = draw(st.sampled_from(("any", "zero", "weeks", "up_to")))
    if mode == "zero":
        return timedelta(0)
    if mode == "weeks":
        return draw(st.integers(1, longest // week_minutes(spec))) * spec.week_open
    if mode == "up_to":
        days = longest * 7 // week_minutes(spec) // (24 * 60)
        end = start + timedelta(minutes=draw(st.integers(0, max(days, 1) * 24 * 60)))
        return reference_between(spec, start, end)
    share, extra = draw(st.integers(0, 10**6)), draw(st.integers(0, 59_999_999))
    return timedelta(minutes=longest * share // 10**6, microseconds=extra)


@settings(max_examples=500, deadline=None)
@given(data=st.data(), spec=calendar_specs(), start=instants)
def test_add_open_time_is_the_day_by_day_walk(data, spec, start):
    duration = data.draw(durations(spec, start))

    assert add_open_time(spec, start, duration) == reference_add(spec, start, duration)


@settings(max_examples=300, deadline=None)
@given(spec=calendar_specs(), start=instants, length=st.integers(0, 3 * 366 * 24 * 60 * 60))
def test_open_time_between_is_the_day_by_day_sum(spec, start, length):
    end = start + timedelta(seconds=length)

    assert open_time_between(spec, start, end) == reference_between(spec, start, end)


def spec_of(hours: dict, zone: str = "Europe/Madrid", holidays=()) -> CalendarSpec:
    return CalendarSpec(zone, calendars.weekly_parse(hours), frozenset(holidays))


BENCH = spec_of(
    {day: [["09:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")},
    holidays=[date(2026, 1, 1) + timedelta(days=36 * n) for n in range(10)],
)


def test_a_one_year_target_is_the_day_by_day_walk_from_any_hour_of_a_week():
    start = datetime(2026, 3, 6, 15, 0, tzinfo=UTC)
    for offset in range(0, 7 * 24 * 60, 97):
        at = start + timedelta(minutes=offset)
        assert add_open_time(BENCH, at, 8760 * H) == reference_add(BENCH, at, 8760 * H)


def test_around_the_search_horizon_it_is_the_day_by_day_walk():
    # Open Monday and Thursday 09:00-10:00; a stretch of holidays of about the horizon's length
    # starting on each day of two weeks: the days in a row without open time are the holidays
    # plus the closed days on either side, and the walks must agree on when that clamps.
    spec_hours = {"mon": [["09:00", "10:00"]], "thu": [["09:00", "10:00"]]}
    start = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    outcomes = set()
    for offset in range(14):
        for length in range(calendars.SEARCH_HORIZON_DAYS - 12, calendars.SEARCH_HORIZON_DAYS + 3):
            first = date(2026, 3, 2) + offset * DAY
            spec = spec_of(spec_hours, holidays=[first + n * DAY for n in range(length)])
            for hours in (0, 1, 3):
                expected = reference_add(spec, start, hours * H)
                assert add_open_time(spec, start, hours * H) == expected, (offset, length, hours)
                outcomes.add(expected == calendars.LATEST)
    assert outcomes == {True, False}


def test_whole_years_jumped_keep_the_days_without_open_time_around_them():
    # Mondays and Thursdays 09:00-10:00 and holiday stretches of about the horizon's length
    # that begin or end inside a year the walk would like to jump whole: the days without open
    # time before its first open day, or after its last, belong to the run that clamps.
    spec_hours = {"mon": [["09:00", "10:00"]], "thu": [["09:00", "10:00"]]}
    start = datetime(2025, 12, 28, 8, 0, tzinfo=UTC)
    outcomes = set()
    for first, length in [
        (date(2027, 1, 1) - 700 * DAY, 740),  # ends 40 days into 2027
        (date(2027, 1, 1) - 700 * DAY, 725),
        (date(2027, 12, 1), 740),  # starts in December 2027
        (date(2027, 12, 1), 720),
        (date(2027, 1, 10), 360),  # most of 2027, then open days
    ]:
        spec = spec_of(spec_hours, holidays=[first + n * DAY for n in range(length)])
        for hours in (150, 250, 400):
            expected = reference_add(spec, start, hours * H)
            assert add_open_time(spec, start, hours * H) == expected, (first, length, hours)
            outcomes.add(expected == calendars.LATEST)
    assert outcomes == {True, False}


def test_used_up_exactly_at_a_year_end_is_the_last_span_of_that_year():
    start = datetime(2026, 6, 10, 10, 0, tzinfo=UTC)
    for spec in (BENCH, spec_of({"sun": [["01:00", "03:00"]], "wed": [["20:00", "24:00"]]}, zone="America/Havana")):
        for year in (2027, 2028, 2030):
            end = datetime(year, 1, 1, tzinfo=spec.zone)
            duration = reference_between(spec, start, end)
            assert add_open_time(spec, start, duration) == reference_add(spec, start, duration), (spec, year)


def test_near_year_9999_it_is_the_day_by_day_walk():
    spec = spec_of({"sun": [["01:00", "03:00"]], "wed": [["00:00", "24:00"]]})
    start = datetime(9990, 1, 1, tzinfo=UTC)
    for hours in (1, 24 * 100, 24 * 400, 24 * 480, 8760):
        assert add_open_time(spec, start, hours * H) == reference_add(spec, start, hours * H)
    end = datetime(9999, 12, 20, tzinfo=UTC)
    assert open_time_between(spec, start, end) == reference_between(spec, start, end)


def test_offset_change_days_are_those_a_daily_scan_finds():
    for zone in ZONES:
        spec = spec_of({"mon": [["09:00", "10:00"]]}, zone=zone)
        for year in range(2016, 2031):
            day, daily = date(year, 1, 1), []
            while day.year == year:
                if calendars._utc(spec, day, calendars.DAY_MINUTES) - calendars._utc(spec, day, 0) != DAY:
                    daily.append(day)
                day += DAY
            assert calendars._offset_change_days(zone, year) == tuple(daily), (zone, year)


def test_a_one_year_target_turns_only_its_first_and_last_days_into_instants(monkeypatch):
    start = datetime(2026, 3, 6, 15, 0, tzinfo=UTC)
    expected = add_open_time(BENCH, start, 8760 * H)  # the spec's years are computed once, then cached
    days = []
    day_spans = calendars._day_spans
    monkeypatch.setattr(calendars, "_day_spans", lambda spec, day: days.append(day) or day_spans(spec, day))

    due = add_open_time(BENCH, start, 8760 * H)

    assert due == expected
    assert days == [date(2026, 3, 6), due.astimezone(BENCH.zone).date()]
