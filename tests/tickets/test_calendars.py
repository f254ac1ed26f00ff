"""The business-hours arithmetic (tickets/calendars.py): pure, no database."""

import logging
import time as clock
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tickets import calendars
from tickets.calendars import CalendarError, CalendarSpec, add_open_time, open_time_between, weekly_parse

MADRID = ZoneInfo("Europe/Madrid")
H = timedelta(hours=1)


def spec_of(hours: dict, zone: str = "Europe/Madrid", holidays=()) -> CalendarSpec:
    return CalendarSpec(zone, weekly_parse(hours), frozenset(holidays))


OFFICE = spec_of({day: [["09:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")})
SPLIT = spec_of({day: [["08:00", "13:00"], ["15:00", "19:00"]] for day in ("mon", "tue", "wed", "thu", "fri")})
ALL_DAY = spec_of({day: [["00:00", "24:00"]] for day in calendars.DAYS})


def madrid(*args) -> datetime:
    return datetime(*args, tzinfo=MADRID)


# --- Examples ------------------------------------------------------------------------------
def test_friday_afternoon_with_two_hours_left_and_a_four_hour_target_lands_monday_11():
    friday_16 = madrid(2026, 3, 6, 16, 0)
    assert add_open_time(OFFICE, friday_16, 4 * H) == madrid(2026, 3, 9, 11, 0)
    assert open_time_between(OFFICE, friday_16, madrid(2026, 3, 9, 11, 0)) == 4 * H


def test_a_clock_started_outside_hours_starts_at_the_next_opening():
    saturday = madrid(2026, 3, 7, 10, 0)
    assert add_open_time(OFFICE, saturday, timedelta(0)) == madrid(2026, 3, 9, 9, 0)
    assert add_open_time(OFFICE, saturday, 2 * H) == madrid(2026, 3, 9, 11, 0)
    before_dawn = madrid(2026, 3, 10, 6, 30)
    assert add_open_time(OFFICE, before_dawn, 30 * timedelta(minutes=1)) == madrid(2026, 3, 10, 9, 30)


def test_used_up_at_the_end_of_an_interval_is_that_end():
    assert add_open_time(OFFICE, madrid(2026, 3, 6, 14, 0), 4 * H) == madrid(2026, 3, 6, 18, 0)


def test_several_intervals_a_day():
    assert add_open_time(SPLIT, madrid(2026, 3, 9, 12, 0), 2 * H) == madrid(2026, 3, 9, 16, 0)
    assert open_time_between(SPLIT, madrid(2026, 3, 9, 0, 0), madrid(2026, 3, 10, 0, 0)) == 9 * H


def test_a_holiday_spanning_a_weekend_skips_to_the_next_working_day():
    # Friday and the Monday after are holidays: a long weekend.
    spec = spec_of(
        {day: [["09:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")},
        holidays=[date(2026, 4, 3), date(2026, 4, 4), date(2026, 4, 5), date(2026, 4, 6)],
    )
    thursday_17 = madrid(2026, 4, 2, 17, 0)
    assert add_open_time(spec, thursday_17, 3 * H) == madrid(2026, 4, 7, 11, 0)
    assert open_time_between(spec, thursday_17, madrid(2026, 4, 7, 11, 0)) == 3 * H


def test_none_is_the_24x7_clock():
    start = datetime(2026, 3, 6, 15, tzinfo=UTC)
    assert add_open_time(None, start, 4 * H) == start + 4 * H
    assert open_time_between(None, start, start + 4 * H) == 4 * H
    assert calendars.plus_open_hours(None, start, float("inf")) == calendars.LATEST
    assert calendars.plus_open_hours(None, start, float("nan")) == calendars.LATEST
    assert calendars.plus_open_hours(None, calendars.LATEST - H, 2.0) == calendars.LATEST


def test_open_time_between_is_zero_for_an_empty_or_reversed_range():
    start = madrid(2026, 3, 9, 10, 0)
    assert open_time_between(OFFICE, start, start) == timedelta(0)
    assert open_time_between(OFFICE, start, start - H) == timedelta(0)


# --- Daylight saving time (Europe/Madrid: 2026-03-29 02:00→03:00, 2026-10-25 03:00→02:00) ---
def test_a_dst_night_does_not_change_an_office_day():
    assert open_time_between(OFFICE, madrid(2026, 3, 27, 0, 0), madrid(2026, 3, 31, 0, 0)) == 18 * H
    friday_17 = madrid(2026, 3, 27, 17, 0)
    assert add_open_time(OFFICE, friday_17, 2 * H) == madrid(2026, 3, 30, 10, 0)
    assert add_open_time(OFFICE, madrid(2026, 10, 23, 17, 0), 2 * H) == madrid(2026, 10, 26, 10, 0)


def test_a_whole_day_calendar_counts_the_real_hours_of_a_dst_day():
    assert open_time_between(ALL_DAY, madrid(2026, 3, 29, 0, 0), madrid(2026, 3, 30, 0, 0)) == 23 * H
    assert open_time_between(ALL_DAY, madrid(2026, 10, 25, 0, 0), madrid(2026, 10, 26, 0, 0)) == 25 * H
    # Around the clock it is the 24x7 clock.
    start = datetime(2026, 3, 28, 12, tzinfo=UTC)
    assert add_open_time(ALL_DAY, start, 48 * H) == start + 48 * H


def test_hours_across_the_spring_gap_resolve_with_fold_0():
    # 02:00 and 02:30 do not exist on 2026-03-29; fold=0 reads them with the winter offset:
    # 02:00 is 03:00 CEST, so 01:00-02:30 is 01:00-03:30 local, 1 h 30 of real time.
    spec = spec_of({"sun": [["01:00", "02:30"]], "mon": [["09:00", "10:00"]]})
    day = madrid(2026, 3, 29, 0, 0)
    assert open_time_between(spec, day, day + 24 * H) == timedelta(minutes=90)
    # 02:00-03:00 that day is empty; the next open time is Monday's.
    gap_only = spec_of({"sun": [["02:00", "03:00"]], "mon": [["09:00", "10:00"]]})
    assert open_time_between(gap_only, day, day + 24 * H) == timedelta(0)
    assert add_open_time(gap_only, day, timedelta(0)) == madrid(2026, 3, 30, 9, 0)


def test_hours_across_the_autumn_fold_count_the_repeated_hour():
    # 02:00 exists twice on 2026-10-25; fold=0 takes the first (summer time): 02:00-03:00 is 2 h.
    spec = spec_of({"sun": [["02:00", "03:00"]], "mon": [["09:00", "10:00"]]})
    day = madrid(2026, 10, 25, 0, 0)
    assert open_time_between(spec, day, day + 25 * H) == 2 * H
    assert add_open_time(spec, day, 2 * H) == datetime(2026, 10, 25, 2, 0, tzinfo=UTC)


# --- Bounds ---------------------------------------------------------------------------------
def test_a_one_year_target_finishes_fast():
    started = clock.perf_counter()
    due = add_open_time(OFFICE, madrid(2026, 3, 6, 16, 0), 8760 * H)
    assert clock.perf_counter() - started < 0.05
    assert open_time_between(OFFICE, madrid(2026, 3, 6, 16, 0), due) == 8760 * H


def test_only_holidays_far_ahead_clamps_to_latest_and_logs(caplog):
    # Open on Mondays only, and every Monday for three years is a holiday.
    mondays = [date(2026, 3, 9) + timedelta(weeks=n) for n in range(3 * 53)]
    spec = spec_of({"mon": [["09:00", "10:00"]]}, holidays=mondays)
    with caplog.at_level(logging.WARNING, logger="tickets.calendars"):
        assert add_open_time(spec, madrid(2026, 3, 6, 12, 0), H) == calendars.LATEST
    assert "clamped" in caplog.text


def test_a_due_time_past_year_9999_is_latest():
    spec = spec_of({"mon": [["09:00", "09:01"]]})
    assert calendars.plus_open_hours(spec, datetime(9990, 1, 1, tzinfo=UTC), 8760.0) == calendars.LATEST
    assert calendars.plus_open_hours(spec, datetime(2026, 1, 1, tzinfo=UTC), float("inf")) == calendars.LATEST


# --- Validation -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("hours", "key"),
    [
        ({}, "weekly_hours"),
        ({"mon": []}, "weekly_hours"),
        ({"mon": [["09:00", "17:00"], ["16:00", "18:00"]]}, "mon"),
        ({"tue": [["17:00", "09:00"]]}, "tue"),
        ({"wed": [["09:00", "24:30"]]}, "wed"),
        ({"thu": [["9", "17:00"]]}, "thu"),
        ({"fri": [["09:00"]]}, "fri"),
        ({"sat": "09:00-17:00"}, "sat"),
        ({"funday": [["09:00", "17:00"]]}, "funday"),
        ([], "weekly_hours"),
    ],
)
def test_invalid_weekly_hours_are_refused_with_the_faulty_day(hours, key):
    with pytest.raises(CalendarError) as caught:
        weekly_parse(hours)
    assert key in caught.value.errors


def test_bounds_00_00_to_24_00_and_touching_intervals_are_valid():
    weekly = weekly_parse({"mon": [["13:00", "24:00"], ["00:00", "13:00"]]})
    assert weekly[0] == ((0, 780), (780, 1440))


def test_zone_check():
    assert calendars.zone_check("Europe/Madrid") == "Europe/Madrid"
    with pytest.raises(CalendarError):
        calendars.zone_check("Mars/Olympus")


def test_day_text_round_trip():
    assert calendars.day_text(SPLIT.weekly[0]) == "08:00-13:00, 15:00-19:00"
    assert calendars.day_text_parse("08:00-13:00, 15:00-19:00") == [["08:00", "13:00"], ["15:00", "19:00"]]
    with pytest.raises(ValueError):
        calendars.day_text_parse("08:00")


# --- Properties -----------------------------------------------------------------------------
instants = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31)).map(
    lambda naive: naive.replace(tzinfo=UTC)
)
specs = st.sampled_from([OFFICE, SPLIT, ALL_DAY, spec_of({"sun": [["01:00", "02:30"]], "wed": [["00:00", "24:00"]]})])


def _inside_open_interval(spec: CalendarSpec, instant: datetime) -> bool:
    """Strictly inside an open span (not at its start, where a closed gap precedes it)."""
    local_day = instant.astimezone(spec.zone).date()
    return any(start < instant < end for start, end in calendars._day_spans(spec, local_day))


@settings(max_examples=300, deadline=None)
@given(spec=specs, start=instants, length=st.integers(min_value=0, max_value=400 * 24 * 60))
def test_add_open_time_inverts_open_time_between_at_open_instants(spec, start, length):
    end = start + timedelta(minutes=length)
    if _inside_open_interval(spec, end):
        assert add_open_time(spec, start, open_time_between(spec, start, end)) == end


@settings(max_examples=300, deadline=None)
@given(spec=specs, start=instants, minutes=st.integers(min_value=1, max_value=300 * 24 * 60))
def test_open_time_between_inverts_add_open_time(spec, start, minutes):
    duration = timedelta(minutes=minutes)
    end = add_open_time(spec, start, duration)
    assert end > start
    assert open_time_between(spec, start, end) == duration


@settings(max_examples=200, deadline=None)
@given(start=instants, minutes=st.integers(min_value=0, max_value=100 * 24 * 60))
def test_a_calendar_open_around_the_clock_in_utc_is_the_24x7_clock(start, minutes):
    utc_all_day = spec_of({day: [["00:00", "24:00"]] for day in calendars.DAYS}, zone="UTC")
    duration = timedelta(minutes=minutes)
    assert add_open_time(utc_all_day, start, duration) == add_open_time(None, start, duration)
    assert open_time_between(utc_all_day, start, start + duration) == duration
