from datetime import UTC, datetime, timedelta

from tickets import sla

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
DUE = T0 + timedelta(hours=2)


def test_due_and_warning_instants():
    assert sla.due_at(T0, 2.0) == DUE
    assert sla.warning_at(T0, DUE, 0.8) == T0 + timedelta(minutes=96)


def test_remaining_minutes_floors_and_goes_negative_when_overdue():
    assert sla.remaining_minutes(due=DUE, clock_running=True, now=T0) == 120
    assert sla.remaining_minutes(due=DUE, clock_running=True, now=DUE - timedelta(seconds=30)) == 0
    assert sla.remaining_minutes(due=DUE, clock_running=True, now=DUE + timedelta(seconds=1)) == -1
    assert sla.remaining_minutes(due=DUE, clock_running=True, now=DUE + timedelta(minutes=45)) == -45


def test_remaining_minutes_is_none_when_clock_stopped_or_no_due():
    assert sla.remaining_minutes(due=DUE, clock_running=False, now=T0) is None
    assert sla.remaining_minutes(due=None, clock_running=True, now=T0) is None


def test_is_breached():
    late = DUE + timedelta(minutes=1)
    assert not sla.is_breached(due=DUE, breached_at=None, resolved_at=None, clock_running=True, now=DUE)
    assert sla.is_breached(due=DUE, breached_at=None, resolved_at=None, clock_running=True, now=late)
    assert not sla.is_breached(due=DUE, breached_at=None, resolved_at=DUE, clock_running=False, now=late)
    assert sla.is_breached(due=DUE, breached_at=None, resolved_at=late, clock_running=False, now=late)
    assert sla.is_breached(due=DUE, breached_at=DUE, resolved_at=None, clock_running=False, now=T0)
    assert not sla.is_breached(due=None, breached_at=None, resolved_at=None, clock_running=True, now=late)


def test_is_at_risk_between_the_tickets_warning_and_due():
    warning = sla.warning_at(T0, DUE, 0.8)
    assert warning == T0 + timedelta(minutes=96)
    assert not sla.is_at_risk(warning=warning, due=DUE, clock_running=True, now=T0)
    assert sla.is_at_risk(warning=warning, due=DUE, clock_running=True, now=warning)
    assert not sla.is_at_risk(warning=warning, due=DUE, clock_running=True, now=DUE + timedelta(seconds=1))
    assert not sla.is_at_risk(warning=warning, due=DUE, clock_running=False, now=warning)
    assert not sla.is_at_risk(warning=None, due=DUE, clock_running=True, now=warning)


def test_next_check_on_reopen_keeps_the_original_warning_and_due_times():
    warning = T0 + timedelta(minutes=96)
    assert sla.next_check_on_reopen(warning=warning, due=DUE, now=T0) == warning
    assert sla.next_check_on_reopen(warning=warning, due=DUE, now=DUE) == DUE
    assert sla.next_check_on_reopen(warning=None, due=DUE, now=T0) == DUE
