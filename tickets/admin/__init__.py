"""The supervisors' back-office for tickets, one module per sub-domain.

Every change goes through tickets/services.py, so the transition table, the assignment rules
and the audit trail apply here exactly as in the API: the ticket list's bulk actions and the
change page's triage panel (transition, assign, comment) both call the services.
"""

from tickets.admin import calendars, clients, notifications, sla_policies, tickets

__all__ = ["calendars", "clients", "notifications", "sla_policies", "tickets"]
