from rest_framework import serializers

from ingestion.status import ImportJobStatusOutput
from reports.pipelines import ReportFilters
from reports.selectors import DEFAULT_TOP_AGENTS_LIMIT
from techsupport.validation import parse_range
from tickets.states import ClientType, TicketStatus

EXPORT_FORMATS = ("json", "csv")


class ReportQueryInput(serializers.Serializer):
    """`from`/`to` (inclusive; a bare date covers its whole day), `clientType`, `limit`
    (top-agents) and `format`. Validated data: `filters` (ReportFilters), `limit`, `format`."""

    to = serializers.CharField(required=False, help_text="ISO-8601 date or date-time (inclusive), on createdAt.")
    clientType = serializers.ChoiceField(choices=ClientType.choices, required=False)  # noqa: N815
    limit = serializers.IntegerField(min_value=1, max_value=100, default=DEFAULT_TOP_AGENTS_LIMIT)
    format = serializers.ChoiceField(choices=EXPORT_FORMATS, default="json")

    def get_fields(self):
        fields = super().get_fields()
        # `from` is a Python keyword, so it cannot be declared as a class attribute.
        fields["from"] = serializers.CharField(
            required=False, help_text="ISO-8601 date or date-time (inclusive), on createdAt."
        )
        return fields

    def validate(self, attrs):
        start, end = parse_range({"from": attrs.pop("from", None), "to": attrs.pop("to", None)})
        attrs["filters"] = ReportFilters(start=start, end=end, client_type=attrs.pop("clientType", None))
        return attrs


class AvgResolutionRow(serializers.Serializer):
    clientType = serializers.ChoiceField(choices=ClientType.choices)  # noqa: N815
    avgResolutionMinutes = serializers.FloatField()  # noqa: N815
    tickets = serializers.IntegerField()


class EscalatedPerMonthRow(serializers.Serializer):
    year = serializers.IntegerField()
    month = serializers.IntegerField(min_value=1, max_value=12)
    escalated = serializers.IntegerField()


class TopAgentRow(serializers.Serializer):
    agentId = serializers.UUIDField()  # noqa: N815
    avgResolutionMinutes = serializers.FloatField()  # noqa: N815
    tickets = serializers.IntegerField()


class WeeklyStatusRow(serializers.Serializer):
    weekStart = serializers.DateField(help_text="Monday of the ISO week of creation (UTC).")  # noqa: N815
    status = serializers.ChoiceField(choices=TicketStatus.choices)
    tickets = serializers.IntegerField()


class SlaComplianceRow(serializers.Serializer):
    clientType = serializers.ChoiceField(choices=ClientType.choices)  # noqa: N815
    tickets = serializers.IntegerField()
    withinSla = serializers.IntegerField()  # noqa: N815
    complianceRate = serializers.FloatField(help_text="withinSla / tickets, a fraction 0..1 rounded to 4 places.")  # noqa: N815
    avgOverrunMinutes = serializers.FloatField(  # noqa: N815
        allow_null=True, help_text="Average minutes beyond the target of the tickets that missed it."
    )


# The documented row shape of each report (OpenAPI only; selectors shape the rows).
ROW_SERIALIZERS: dict[str, type[serializers.Serializer]] = {
    "avg-resolution": AvgResolutionRow,
    "escalated-per-month": EscalatedPerMonthRow,
    "top-agents": TopAgentRow,
    "weekly-status": WeeklyStatusRow,
    "sla-compliance": SlaComplianceRow,
    "last-processes": ImportJobStatusOutput,
}
