"""The SLA badge of the ticket list and change page: green, amber past the ticket's warning
instant, red once breached, blue while the clock is paused (waiting on the customer), grey when
the clock is stopped. The colour is the resolution target's (the one "at risk" rule, ADR 0006); the
words name the nearer target: "first response in 12m" while a first response is pending and due
before the resolution."""

from datetime import datetime, timedelta

from django.utils.html import format_html

from tickets import sla
from tickets.models import Ticket

BADGE_COLOURS = {"ok": "#2e7d32", "risk": "#ef8f00", "breached": "#c62828", "stopped": "#757575", "paused": "#3f51b5"}


def duration_text(delta: timedelta) -> str:
    minutes = int(abs(delta.total_seconds()) // 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days}d {hours}h"
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m"


def sla_state(ticket: Ticket, *, now: datetime) -> tuple[str, str]:
    """(state, text): the badge's colour key and its words."""
    running = ticket.clock_running
    breached = sla.is_breached(
        due=ticket.sla_due_at,
        breached_at=ticket.sla_breached_at,
        resolved_at=ticket.resolved_at,
        clock_running=running,
        now=now,
    )
    if ticket.sla_paused_at is not None and not breached:
        return "paused", f"paused, {duration_text(ticket.sla_due_at - ticket.sla_paused_at)} left"
    if not running:
        stopped = "paused" if ticket.sla_paused_at is not None else "stopped"
        return ("breached", f"breached, {stopped}") if breached else ("stopped", stopped)
    if breached:
        return "breached", f"overdue {duration_text(now - ticket.sla_due_at)}"
    at_risk = sla.is_at_risk(warning=ticket.sla_warning_at, due=ticket.sla_due_at, clock_running=True, now=now)
    state = "risk" if at_risk else "ok"
    first_due = ticket.first_response_due_at
    if ticket.first_response_pending and now <= first_due < ticket.sla_due_at:
        # The nearer target names itself; the colour stays the one "at risk" rule (resolution).
        return state, f"first response in {duration_text(first_due - now)}"
    return state, f"{duration_text(ticket.sla_due_at - now)} left"


def sla_badge_html(ticket: Ticket, *, now: datetime) -> str:
    if ticket.sla_due_at is None:
        return "—"
    state, text = sla_state(ticket, now=now)
    return format_html(
        '<span class="sla-badge sla-{}" title="due {}" style="background:{};color:#fff;padding:2px 6px;'
        'border-radius:8px;white-space:nowrap">{}</span>',
        state,
        ticket.sla_due_at.strftime("%Y-%m-%d %H:%M UTC"),
        BADGE_COLOURS[state],
        text,
    )
