"""Roles and the rules tied to them. Every app imports roles from here."""

from django.db import models


class Role(models.TextChoices):
    ADMIN = "ADMIN", "Admin"
    SUPERVISOR = "SUPERVISOR", "Supervisor"
    AGENT = "AGENT", "Agent"


# The original system spelled the agent role in Spanish; accepted on input, never emitted.
ROLE_ALIASES = {"AGENTE": Role.AGENT}

MIN_LEVEL, MAX_LEVEL = 1, 3

# Roles that may enter the Django admin back-office.
STAFF_ROLES = {Role.ADMIN, Role.SUPERVISOR}

SUPERVISORS_GROUP = "Supervisors"
# Model permissions of the Supervisors group ("app_label.codename"). Each app adds what its
# back-office pages need; the group is synced after every migrate (accounts/apps.py).
SUPERVISOR_PERMISSIONS: list[str] = [
    "accounts.view_user",
    # the users list's "auto-assignment on / off" actions (an agent on leave), nothing else
    "accounts.toggle_auto_assignment",
    # reports: the dashboard in the admin (reports/admin.py)
    "reports.view_dashboard",
    # tickets: triage (actions go through the services), client care, SLA tuning
    "tickets.view_ticket",
    "tickets.add_ticket",
    "tickets.change_ticket",
    "tickets.view_ticketevent",
    "tickets.view_client",
    "tickets.add_client",
    "tickets.change_client",
    "tickets.view_slapolicy",
    "tickets.change_slapolicy",
    "tickets.view_businesscalendar",
    "tickets.add_businesscalendar",
    "tickets.change_businesscalendar",
    "tickets.view_holiday",
    "tickets.add_holiday",
    "tickets.change_holiday",
    "tickets.delete_holiday",
    "tickets.view_notification",
    # ingestion: watch imports, their row errors and dead letters (retry is ADMIN only)
    "ingestion.view_importjob",
    "ingestion.view_importrowerror",
    "ingestion.view_deadletter",
]


def normalize_role(value: str) -> str:
    upper = (value or "").strip().upper()
    return ROLE_ALIASES.get(upper, upper)
