"""Reads behind the reports: run the pipelines of reports/pipelines.py on `ticket_logs` and shape
the rows to the contract (camelCase keys, averages rounded to 2 decimals, sorted as stated).
`agent-load` is live relational data: it reads PostgreSQL through tickets' selector.

The API, `manage.py generate_report` and the admin dashboard all go through `report_run`.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from ingestion.selectors import import_job_status_latest
from ingestion.status import STATUS_COLUMNS
from reports import pipelines
from reports.pipelines import ReportFilters
from techsupport.mongo import get_db
from techsupport.ticket_logs import COLLECTION
from tickets.selectors import agent_load_list, sla_target_minutes_by_tier

DEFAULT_TOP_AGENTS_LIMIT = 5
LAST_PROCESSES_LIMIT = 10


def _aggregate(pipeline: list[dict]) -> list[dict]:
    return list(get_db()[COLLECTION].aggregate(pipeline))


def _round(value: float | None, places: int = 2) -> float | None:
    return None if value is None else round(float(value), places)


def report_avg_resolution(*, filters: ReportFilters) -> list[dict]:
    return [
        {"clientType": row["_id"], "avgResolutionMinutes": _round(row["avg"]), "tickets": row["tickets"]}
        for row in _aggregate(pipelines.avg_resolution_pipeline(filters))
    ]


def report_escalated_per_month(*, filters: ReportFilters) -> list[dict]:
    return [
        {"year": row["_id"]["year"], "month": row["_id"]["month"], "escalated": row["escalated"]}
        for row in _aggregate(pipelines.escalated_per_month_pipeline(filters))
    ]


def report_top_agents(*, filters: ReportFilters, limit: int = DEFAULT_TOP_AGENTS_LIMIT) -> list[dict]:
    return [
        {"agentId": row["_id"], "avgResolutionMinutes": _round(row["avg"]), "tickets": row["tickets"]}
        for row in _aggregate(pipelines.top_agents_pipeline(filters, limit=limit))
    ]


def report_weekly_status(*, filters: ReportFilters) -> list[dict]:
    return [
        {"weekStart": row["_id"]["week"].date().isoformat(), "status": row["_id"]["status"], "tickets": row["tickets"]}
        for row in _aggregate(pipelines.weekly_status_pipeline(filters))
    ]


def report_sla_compliance(*, filters: ReportFilters, now: datetime | None = None) -> list[dict]:
    """`complianceRate` is withinSla / tickets as a fraction 0..1 rounded to 4 places;
    `avgOverrunMinutes` averages the minutes past the target over the tickets beyond it, null
    when none. The `firstResponse*` keys are the same figures for the first-response target,
    over the same tickets, counting only those whose first response is decided (answered, or
    unanswered past its due instant at `now`, default the current time: missed, no overrun);
    `firstResponseComplianceRate` is null when none is."""
    targets = sla_target_minutes_by_tier()
    pipeline = pipelines.sla_compliance_pipeline(filters, target_minutes=targets, now=now or timezone.now())
    return [
        {
            "clientType": row["_id"],
            "tickets": row["tickets"],
            "withinSla": row["withinSla"],
            "complianceRate": round(row["withinSla"] / row["tickets"], 4),
            "avgOverrunMinutes": _round(row["avgOverrun"]),
            "firstResponseTickets": row["firstResponseTickets"],
            "firstResponseWithinTarget": row["firstResponseWithinTarget"],
            "firstResponseComplianceRate": (
                round(row["firstResponseWithinTarget"] / row["firstResponseTickets"], 4)
                if row["firstResponseTickets"]
                else None
            ),
            "firstResponseAvgOverrunMinutes": _round(row["firstResponseAvgOverrun"]),
        }
        for row in _aggregate(pipeline)
    ]


def report_last_processes() -> list[dict]:
    """The latest import jobs in the shape of `GET /api/files/status/{id}`. Import jobs are not
    ticket logs: the date and tier filters do not apply."""
    return import_job_status_latest(limit=LAST_PROCESSES_LIMIT)


def report_agent_load(*, filters: ReportFilters) -> list[dict]:
    """Open tickets per agent, now: relational data, counted in PostgreSQL (tickets' selector),
    not in `ticket_logs`. The tier and date filters narrow the tickets counted."""
    from reports.serializers import AgentLoadRow  # the serializers import this module

    rows = agent_load_list(
        now=timezone.now(), client_type=filters.client_type, created_from=filters.start, created_to=filters.end
    )
    return list(AgentLoadRow(rows, many=True).data)


AGENT_LOAD_COLUMNS = (
    "agentId",
    "name",
    "email",
    "level",
    "active",
    "acceptsAutoAssignment",
    "openTickets",
    "oldestOpenCreatedAt",
    "oldestOpenAgeMinutes",
)

SLA_COMPLIANCE_COLUMNS = (
    "clientType",
    "tickets",
    "withinSla",
    "complianceRate",
    "avgOverrunMinutes",
    "firstResponseTickets",
    "firstResponseWithinTarget",
    "firstResponseComplianceRate",
    "firstResponseAvgOverrunMinutes",
)


@dataclass(frozen=True)
class Report:
    name: str
    title: str
    columns: tuple[str, ...]
    run: Callable[[ReportFilters, int], list[dict]]


REPORTS: dict[str, Report] = {
    report.name: report
    for report in (
        Report(
            "avg-resolution",
            "Average resolution time per client type",
            ("clientType", "avgResolutionMinutes", "tickets"),
            lambda filters, limit: report_avg_resolution(filters=filters),
        ),
        Report(
            "escalated-per-month",
            "Escalated tickets per month",
            ("year", "month", "escalated"),
            lambda filters, limit: report_escalated_per_month(filters=filters),
        ),
        Report(
            "top-agents",
            "Fastest agents",
            ("agentId", "avgResolutionMinutes", "tickets"),
            lambda filters, limit: report_top_agents(filters=filters, limit=limit),
        ),
        Report(
            "weekly-status",
            "Tickets per ISO week and status",
            ("weekStart", "status", "tickets"),
            lambda filters, limit: report_weekly_status(filters=filters),
        ),
        Report(
            "sla-compliance",
            "SLA compliance per client type",
            SLA_COMPLIANCE_COLUMNS,
            lambda filters, limit: report_sla_compliance(filters=filters),
        ),
        Report(
            "last-processes",
            "Latest import processes",
            # The file-status shape; `errors` is a list: the JSON carries it, flat exports leave it out.
            STATUS_COLUMNS,
            lambda filters, limit: report_last_processes(),
        ),
        Report(
            "agent-load",
            "Open tickets per agent",
            AGENT_LOAD_COLUMNS,
            lambda filters, limit: report_agent_load(filters=filters),
        ),
    )
}


def report_run(name: str, *, filters: ReportFilters, limit: int = DEFAULT_TOP_AGENTS_LIMIT) -> list[dict]:
    """Rows of the named report (a key of REPORTS; KeyError otherwise)."""
    return REPORTS[name].run(filters, limit)
