"""The supervisors' reports dashboard, an entry under "Reports" in the admin index.

`Dashboard` has no table; its ModelAdmin replaces the changelist URL with the dashboard view, so
the admin index links to it and only users with `reports.view_dashboard` (the Supervisors group;
admins are superusers) see or reach it. Everyone else who is staff gets 403; non-staff never get
past the admin's login.
"""

from datetime import date

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone

from accounts.selectors import user_display_names
from reports import selectors
from reports.axes import months_axis, weeks_axis
from reports.charts import bar_chart, stacked_column_chart
from reports.models import Dashboard
from reports.pipelines import ReportFilters
from techsupport.exceptions import AppError
from techsupport.validation import parse_range
from tickets.selectors import ticket_open_summary
from tickets.states import ClientType

PERMISSION = "reports.view_dashboard"
# The time charts draw at most this many months / weeks (the latest ones of the period): two
# years of weeks fit the compact column chart.
MONTHS_SHOWN = 24
WEEKS_SHOWN = 104
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def _filters_from(params) -> tuple[ReportFilters, dict]:
    """The form's filters and the per-field errors (invalid filters are dropped, not guessed)."""
    errors = {}
    start = end = None
    try:
        start, end = parse_range({"from": params.get("from"), "to": params.get("to")})
    except AppError as exc:
        errors.update(exc.details or {"from": exc.message})
    client_type = params.get("clientType") or None
    if client_type and client_type not in ClientType.values:
        errors["clientType"] = "Unknown client type."
        client_type = None
    return ReportFilters(start=start, end=end, client_type=client_type), errors


def _charts(filters: ReportFilters) -> list:
    avg = selectors.report_avg_resolution(filters=filters)
    escalated = selectors.report_escalated_per_month(filters=filters)
    agents = selectors.report_top_agents(filters=filters, limit=10)
    agent_names = user_display_names([row["agentId"] for row in agents])
    weekly = selectors.report_weekly_status(filters=filters)
    sla = selectors.report_sla_compliance(filters=filters)
    weeks: dict[str, dict[str, int]] = {}
    for row in weekly:
        weeks.setdefault(row["weekStart"], {})[row["status"]] = row["tickets"]
    weeks, weeks_hidden = weeks_axis(weeks, WEEKS_SHOWN)
    months, months_hidden = months_axis({(r["year"], r["month"]): r["escalated"] for r in escalated}, MONTHS_SHOWN)
    return [
        bar_chart(
            "Average resolution time per client type (minutes)",
            [(r["clientType"], r["avgResolutionMinutes"], f"{r['avgResolutionMinutes']:g} min") for r in avg],
        ),
        bar_chart(
            "SLA compliance per client type",
            [
                (r["clientType"], r["complianceRate"], f"{r['complianceRate'] * 100:.1f} % of {r['tickets']}")
                for r in sla
            ],
            colour="#2e7d32",
        ),
        bar_chart(
            "Escalated tickets per month",
            [(f"{MONTHS[month - 1]} {year}", count, str(count)) for year, month, count in months],
            colour="#c62828",
            note=_hidden_note(months_hidden, "month"),
        ),
        bar_chart(
            "Fastest agents (average resolution, minutes)",
            [
                (
                    agent_names.get(r["agentId"], r["agentId"][:8]),
                    r["avgResolutionMinutes"],
                    f"{r['avgResolutionMinutes']:g} min",
                )
                for r in agents
            ],
            colour="#00897b",
        ),
        stacked_column_chart(
            "Tickets per ISO week (Monday) and status", weeks, note=_hidden_note(weeks_hidden, "week")
        ),
    ]


def _hidden_note(hidden: int, unit: str) -> str:
    if not hidden:
        return ""
    return f"The latest {unit}s of the period; {hidden} earlier {unit}(s) not drawn (narrow the dates, or use the API)."


@admin.register(Dashboard)
class DashboardAdmin(admin.ModelAdmin):
    def has_module_permission(self, request):
        return request.user.has_perm(PERMISSION)

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm(PERMISSION)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        # The changelist's name, so the admin index links here; no add/change/delete pages.
        info = self.opts.app_label, self.opts.model_name
        return [path("", self.admin_site.admin_view(self.dashboard_view), name="{}_{}_changelist".format(*info))]

    def dashboard_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        filters, errors = _filters_from(request.GET)
        context = {
            **self.admin_site.each_context(request),
            "title": "Reports dashboard",
            "opts": self.opts,
            "filters": filters,
            "errors": errors,
            "form": {
                "from": request.GET.get("from", ""),
                "to": request.GET.get("to", ""),
                "clientType": filters.client_type or "",
            },
            "client_types": ClientType.values,
            "summary": _summary(timezone.now()),
            # Now, like the summary: the report filters do not apply.
            "agent_load": selectors.report_agent_load(filters=ReportFilters()),
            "charts": _charts(filters),
            "last_processes": selectors.report_last_processes(),
            "today": date.today(),
        }
        return TemplateResponse(request, "admin/reports/dashboard.html", context)


def _summary(now) -> dict:
    rows = ticket_open_summary(now=now)
    return {
        "rows": rows,
        "open": sum(r["tickets"] for r in rows),
        "breached": sum(r["breached"] for r in rows),
        "at_risk": sum(r["atRisk"] for r in rows),
    }
