from django.apps import AppConfig


def _project_changed_tickets(sender, *, tickets, **kwargs):
    from reports.services import ticket_log_projections_record

    ticket_log_projections_record(tickets=tickets)


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = "Reports"

    def ready(self):
        from tickets.signals import tickets_changed

        # The live projection: resolved, closed and escalated tickets reach `ticket_logs`.
        tickets_changed.connect(_project_changed_tickets, dispatch_uid="reports_project_changed_tickets")
