from rest_framework import serializers

from ingestion.status import ImportJobStatusOutput
from reports.pipelines import ReportFilters
from reports.selectors import DEFAULT_TOP_AGENTS_LIMIT
from techsupport import camelcase
from techsupport.validation import parse_range
from tickets.states import ClientType, TicketStatus

EXPORT_FORMATS = ("json", "csv")


class ReportQueryInput(camelcase.Serializer):
    """`from`/`to` (inclusive; a bare date covers its whole day), `clientType`, `limit`
    (top-agents) and `format`. Validated data: `filters` (ReportFilters), `limit`, `format`."""

    from_ = serializers.CharField(required=False, help_text="ISO-8601 date or date-time (inclusive), on createdAt.")
    to = serializers.CharField(required=False, help_text="ISO-8601 date or date-time (inclusive), on createdAt.")
    client_type = serializers.ChoiceField(choices=ClientType.choices, required=False)
    limit = serializers.IntegerField(min_value=1, max_value=100, default=DEFAULT_TOP_AGENTS_LIMIT)
    format = serializers.ChoiceField(choices=EXPORT_FORMATS, default="json")

    def validate(self, attrs):
        start, end = parse_range({"from": attrs.pop("from_", None), "to": attrs.pop("to", None)})
        attrs["filters"] = ReportFilters(start=start, end=end, client_type=attrs.pop("client_type", None))
        return attrs


class AvgResolutionRow(camelcase.Serializer):
    client_type = serializers.ChoiceField(choices=ClientType.choices)
    avg_resolution_minutes = serializers.FloatField()
    tickets = serializers.IntegerField()


class EscalatedPerMonthRow(camelcase.Serializer):
    year = serializers.IntegerField()
    month = serializers.IntegerField(min_value=1, max_value=12)
    escalated = serializers.IntegerField()


class TopAgentRow(camelcase.Serializer):
    agent_id = serializers.UUIDField()
    avg_resolution_minutes = serializers.FloatField()
    tickets = serializers.IntegerField()


class WeeklyStatusRow(camelcase.Serializer):
    week_start = serializers.DateField(help_text="Monday of the ISO week of creation (UTC).")
    status = serializers.ChoiceField(choices=TicketStatus.choices)
    tickets = serializers.IntegerField()


class SlaComplianceRow(camelcase.Serializer):
    client_type = serializers.ChoiceField(choices=ClientType.choices)
    tickets = serializers.IntegerField()
    within_sla = serializers.IntegerField()
    compliance_rate = serializers.FloatField(help_text="withinSla / tickets, a fraction 0..1 rounded to 4 places.")
    avg_overrun_minutes = serializers.FloatField(
        allow_null=True, help_text="Average minutes beyond the target of the tickets that missed it."
    )
    first_response_tickets = serializers.IntegerField(
        help_text=(
            "Of these tickets, those with a first-response target whose first response is decided: "
            "answered, or unanswered past its due time (imported rows have no target)."
        )
    )
    first_response_within_target = serializers.IntegerField(
        help_text="First responded at or before the first-response due time."
    )
    first_response_compliance_rate = serializers.FloatField(
        allow_null=True,
        help_text="firstResponseWithinTarget / firstResponseTickets, 0..1 rounded to 4 places; null when 0 tickets.",
    )
    first_response_avg_overrun_minutes = serializers.FloatField(
        allow_null=True,
        help_text="Average minutes past the first-response due time of the late answers; null when none.",
    )


class AgentLoadRow(camelcase.Serializer):
    agent_id = serializers.UUIDField()
    name = serializers.CharField()
    email = serializers.EmailField()
    level = serializers.IntegerField(min_value=1, max_value=3)
    active = serializers.BooleanField()
    accepts_auto_assignment = serializers.BooleanField(help_text="Off while the agent is on leave.")
    open_tickets = serializers.IntegerField(help_text="Live tickets assigned to the agent, not RESOLVED or CLOSED.")
    oldest_open_created_at = serializers.DateTimeField(
        allow_null=True, help_text="createdAt of the agent's oldest open ticket; null with none."
    )
    oldest_open_age_minutes = serializers.IntegerField(
        allow_null=True, help_text="Whole minutes since that ticket was created; null with none."
    )


# The documented row shape of each report (OpenAPI only; selectors shape the rows).
ROW_SERIALIZERS: dict[str, type[serializers.Serializer]] = {
    "avg-resolution": AvgResolutionRow,
    "escalated-per-month": EscalatedPerMonthRow,
    "top-agents": TopAgentRow,
    "weekly-status": WeeklyStatusRow,
    "sla-compliance": SlaComplianceRow,
    "last-processes": ImportJobStatusOutput,
    "agent-load": AgentLoadRow,
}
