"""The tickets app's metrics: counted where things happen (services, the SLA sweep) after the
transaction commits, and the open-tickets gauge computed at scrape time (registered in apps.py)."""

from prometheus_client import Counter, Histogram

tickets_created_total = Counter("tickets_created_total", "Tickets created.", ["tier"])
ticket_transitions_total = Counter("ticket_transitions_total", "Ticket status changes.", ["from_status", "to_status"])
sla_breaches_total = Counter("sla_breaches_total", "SLA breaches applied by sweeps.", ["tier", "action"])
sla_escalations_total = Counter("sla_escalations_total", "Escalations applied by SLA sweeps.", ["level"])
sla_sweep_duration_seconds = Histogram("sla_sweep_duration_seconds", "Duration of one SLA sweep.")


def state_gauges_register() -> None:
    from django.utils import timezone

    from techsupport.metrics import state_gauge_register
    from tickets.selectors import ticket_at_risk_count, ticket_past_due_count

    state_gauge_register(
        "sla_open_past_due_tickets",
        "Open tickets past their SLA due time.",
        lambda: ticket_past_due_count(now=timezone.now()),
    )
    state_gauge_register(
        "sla_open_at_risk_tickets",
        "Open tickets past their SLA warning instant, not yet due.",
        lambda: ticket_at_risk_count(now=timezone.now()),
    )
