from django.contrib import admin

from tickets.models import SlaPolicy
from tickets.services import POLICY_FIELDS, sla_policy_update
from tickets.states import ClientType

COLUMNS = [
    "client_type",
    "target_hours",
    "breach_action",
    "escalation_ceiling",
    "warning_threshold",
    "first_response_minutes",
    "auto_assign",
    "calendar",
]


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin):
    list_display = [*COLUMNS, "updated_at"]
    list_select_related = ["calendar"]
    readonly_fields = ["updated_at"]
    fieldsets = [
        (
            None,
            {
                "fields": [*COLUMNS, "updated_at"],
                "description": (
                    "Target, warning threshold and calendar apply to tickets created afterwards: an open "
                    "ticket keeps the due and warning times it was given at creation. With a business "
                    "calendar the SLA clock counts only its open hours (no calendar: around the clock). "
                    "The breach action, the escalation ceiling and the window between escalations (in "
                    "the calendar's open hours) are read by each SLA sweep, so they also govern the next "
                    "steps of open tickets. "
                    "Auto-assign gives the tier's new tickets, and its tickets escalated without an agent, to the "
                    "eligible agent with the fewest open tickets (active, level high enough, accepting "
                    "auto-assignment, below AUTO_ASSIGN_MAX_OPEN_PER_AGENT); with none, the ticket stays unassigned."
                ),
            },
        )
    ]

    def get_readonly_fields(self, request, obj=None):
        return ["client_type", "updated_at"] if obj else ["updated_at"]

    def save_model(self, request, obj, form, change):
        if not change:
            super().save_model(request, obj, form, change)
            return
        changes = {name: form.cleaned_data[name] for name in form.changed_data if name in POLICY_FIELDS}
        saved = sla_policy_update(policy=obj, **changes)
        obj.updated_at = saved.updated_at

    def has_add_permission(self, request):
        # One policy per tier; the data migration installs both.
        return super().has_add_permission(request) and SlaPolicy.objects.count() < len(ClientType.values)

    def has_delete_permission(self, request, obj=None):
        return False
