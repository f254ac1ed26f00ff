"""The audit trail as a supervisor reads it: one sentence per event, never raw JSON.

`TicketEvent.data` holds the facts of each kind (see tickets/services.py and tickets/sweep.py);
an event of a kind this module does not know yet still shows its kind and its facts.
"""

from collections.abc import Iterable
from datetime import datetime

from django.utils.dateparse import parse_datetime
from django.utils.html import format_html, format_html_join, linebreaks
from django.utils.safestring import mark_safe

from accounts.models import User
from tickets.models import TicketEvent
from tickets.states import TicketStatus

SHOWN_CHARS = 60


def _status(value: str) -> str:
    return TicketStatus(value).label if value in TicketStatus.values else value or "—"


def _when(value) -> str:
    instant = parse_datetime(value) if isinstance(value, str) else value
    return instant.strftime("%Y-%m-%d %H:%M UTC") if isinstance(instant, datetime) else "—"


def _quoted(value) -> str:
    text = str(value)
    return f"«{text[:SHOWN_CHARS]}…»" if len(text) > SHOWN_CHARS else f"«{text}»"


def _edits(changes: dict) -> str:
    parts = []
    for field, change in changes.items():
        if field == "description":
            parts.append("description rewritten")
        else:
            parts.append(f"{field} {_quoted(change.get('from'))} → {_quoted(change.get('to'))}")
    return "Edited: " + "; ".join(parts) + "." if parts else "Edited."


def _auto_assignment(data: dict, emails: dict[str, str]) -> str:
    after, note = data.get("toAgentId"), data.get("note")
    if after is None:
        return "Auto-assignment left it unassigned" + (f": {note}." if note else ".")
    return f"Auto-assigned to {emails.get(after, 'an agent no longer on file')}" + (f": {note}." if note else ".")


def _assignment(data: dict, emails: dict[str, str]) -> str:
    if data.get("auto"):
        return _auto_assignment(data, emails)
    before, after = data.get("fromAgentId"), data.get("toAgentId")
    if after is None:
        sentence = f"Unassigned from {emails.get(before, 'an agent')}"
        if data.get("reason") == "agent_level_too_low":
            sentence += f": level {data.get('agentLevel')}, the status needs {data.get('requiredLevel')} or higher"
        return sentence + "."
    sentence = f"Assigned to {emails.get(after, 'an agent no longer on file')}"
    return sentence + (f" (was {emails.get(before, 'another agent')})." if before else ".")


def _transition(event: TicketEvent) -> str:
    sentence = f"Status {_status(event.from_status)} → {_status(event.to_status)}"
    if event.to_status == TicketStatus.ESCALATED:
        sentence += f", escalation level {event.data.get('escalationLevel', '?')}"
    return sentence + "."


def event_sentence(event: TicketEvent, emails: dict[str, str]) -> str:
    """What happened, in words. `emails` maps agent ids (as text) to their email."""
    data = event.data or {}
    kind = event.kind
    if kind == TicketEvent.Kind.CREATED:
        return f"Created with priority {data.get('priority', '?')}; SLA due {_when(data.get('slaDueAt'))}."
    if kind == TicketEvent.Kind.UPDATED:
        return _edits(data.get("changes", {}))
    if kind == TicketEvent.Kind.STATUS_CHANGED:
        return _transition(event)
    if kind == TicketEvent.Kind.ASSIGNED:
        return _assignment(data, emails)
    if kind == TicketEvent.Kind.DELETED:
        return "Deleted: hidden from the API and lists; the SLA clock stopped."
    if kind == TicketEvent.Kind.SLA_WARNING:
        return f"SLA warning: due {_when(data.get('slaDueAt'))}."
    if kind == TicketEvent.Kind.SLA_BREACH:
        return f"SLA breached (was due {_when(data.get('slaDueAt'))}); supervisors notified."
    if kind == TicketEvent.Kind.ESCALATED:
        level, due = data.get("escalationLevel", "?"), _when(data.get("slaDueAt"))
        return f"Escalated by the SLA sweep to level {level} (was due {due})."
    if kind == TicketEvent.Kind.COMMENTED:
        return data.get("text", "")
    facts = ", ".join(f"{key}: {value}" for key, value in data.items())
    return f"{kind.replace('_', ' ').capitalize()}" + (f" ({facts})." if facts else ".")


def agent_emails(events: Iterable[TicketEvent]) -> dict[str, str]:
    """The emails of every agent the events name, in one query."""
    ids = {
        value
        for event in events
        if event.kind == TicketEvent.Kind.ASSIGNED
        for value in ((event.data or {}).get("fromAgentId"), (event.data or {}).get("toAgentId"))
        if value
    }
    return {str(pk): email for pk, email in User.objects.filter(pk__in=ids).values_list("pk", "email")} if ids else {}


def audit_trail_html(ticket) -> str:
    """The ticket's events, oldest first, as a table: when, who, what."""
    events = list(ticket.events.select_related("actor").order_by("created_at", "id"))
    if not events:
        return "No events."
    emails = agent_emails(events)
    rows = format_html_join(
        "\n",
        '<tr class="audit-{}"><td class="audit-when">{}</td><td class="audit-who">{}</td>'
        '<td class="audit-kind">{}</td><td class="audit-what">{}</td></tr>',
        (
            (
                event.kind,
                _when(event.created_at),
                event.actor.email if event.actor else "system",
                event.get_kind_display(),
                _what(event, emails),
            )
            for event in events
        ),
    )
    return format_html(
        '<table class="audit-trail"><thead><tr><th>When</th><th>Who</th><th>Event</th><th>What happened</th>'
        "</tr></thead><tbody>{}</tbody></table>",
        rows,
    )


def _what(event: TicketEvent, emails: dict[str, str]) -> str:
    sentence = event_sentence(event, emails)
    if event.kind != TicketEvent.Kind.COMMENTED:
        return sentence
    # A comment keeps its line breaks; `linebreaks(autoescape=True)` escapes the text first.
    return mark_safe(linebreaks(sentence, autoescape=True))  # noqa: S308
