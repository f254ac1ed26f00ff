"""Wire shapes of clients, tickets and events (camelCase), and the validated query filters."""

from rest_framework import serializers

from techsupport import camelcase
from techsupport.validation import parse_range
from tickets import sla
from tickets.models import MAX_PRIORITY, MIN_PRIORITY, Client, Notification, Ticket, TicketEvent
from tickets.states import ClientType, TicketStatus


# --- Clients -----------------------------------------------------------------------------
class ClientOutput(camelcase.ModelSerializer):
    created_at = serializers.DateTimeField()

    class Meta:
        model = Client
        fields = ["id", "name", "email", "type", "company", "created_at"]


class ClientCreateInput(camelcase.Serializer):
    name = serializers.CharField(max_length=200)
    email = serializers.EmailField(max_length=254)
    type = serializers.ChoiceField(choices=ClientType.choices)
    company = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class ClientUpdateInput(camelcase.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    email = serializers.EmailField(max_length=254, required=False)
    type = serializers.ChoiceField(choices=ClientType.choices, required=False)
    company = serializers.CharField(max_length=200, required=False, allow_blank=True)

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError("Send at least one of name, email, type, company.")
        return attrs


class ClientListFilter(camelcase.Serializer):
    type = serializers.ChoiceField(choices=ClientType.choices, required=False)
    q = serializers.CharField(max_length=200, required=False, allow_blank=True)


# --- Tickets -----------------------------------------------------------------------------
class TicketOutput(camelcase.ModelSerializer):
    """Needs `context["now"]` (one instant per response, so every row agrees)."""

    client_id = serializers.UUIDField()
    client_type = serializers.CharField()
    agent_id = serializers.UUIDField(allow_null=True)
    escalation_level = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    resolved_at = serializers.DateTimeField(allow_null=True)
    resolution_time_min = serializers.FloatField(allow_null=True)
    sla_due_at = serializers.DateTimeField(allow_null=True)
    sla_breached = serializers.SerializerMethodField()
    sla_remaining_minutes = serializers.SerializerMethodField()
    first_response_due_at = serializers.DateTimeField(
        allow_null=True, help_text="When the first agent action is due; null for tickets created before the target."
    )
    first_responded_at = serializers.DateTimeField(
        allow_null=True, help_text="The first status change, assignment or comment by a person."
    )
    version = serializers.IntegerField(
        read_only=True, help_text="Incremented by every change; also the ETag header. Send it as If-Match."
    )

    class Meta:
        model = Ticket
        fields = [
            "id",
            "title",
            "description",
            "status",
            "priority",
            "client_id",
            "client_type",
            "agent_id",
            "escalation_level",
            "created_at",
            "updated_at",
            "resolved_at",
            "resolution_time_min",
            "sla_due_at",
            "sla_breached",
            "sla_remaining_minutes",
            "first_response_due_at",
            "first_responded_at",
            "version",
        ]

    # The methods' SQL twins: list pages are rendered by PostgreSQL (techsupport/serializer_rows.py);
    # tests/tickets/test_ticket_list_json.py holds them to the methods byte for byte.
    sql_methods = {
        "get_sla_breached": sla.BREACHED_JSON_SQL,
        "get_sla_remaining_minutes": sla.REMAINING_MINUTES_JSON_SQL,
    }

    def get_sla_breached(self, ticket) -> bool:
        return sla.is_breached(
            due=ticket.sla_due_at,
            breached_at=ticket.sla_breached_at,
            resolved_at=ticket.resolved_at,
            clock_running=ticket.clock_running,
            now=self.context["now"],
        )

    def get_sla_remaining_minutes(self, ticket) -> int | None:
        return sla.remaining_minutes(
            due=ticket.sla_due_at,
            clock_running=ticket.clock_running,
            now=self.context["now"],
            paused_at=ticket.sla_paused_at,
        )


class TicketCreateInput(camelcase.Serializer):
    title = serializers.CharField(min_length=3, max_length=200)
    description = serializers.CharField(min_length=3, max_length=10_000)
    client_id = serializers.UUIDField()
    priority = serializers.IntegerField(min_value=MIN_PRIORITY, max_value=MAX_PRIORITY, default=3)


class TicketStatusInput(camelcase.Serializer):
    status = serializers.ChoiceField(choices=TicketStatus.choices)
    expected_status = serializers.ChoiceField(
        choices=TicketStatus.choices,
        required=False,
        help_text="The status the change is based on: if the ticket has left it, 409 (the change is not applied).",
    )


class TicketAssignInput(camelcase.Serializer):
    agent_id = serializers.UUIDField()


class TicketListFilter(camelcase.Serializer):
    """The query of `GET /api/tickets`; validated data are `ticket_list`'s keyword arguments."""

    status = serializers.ChoiceField(choices=TicketStatus.choices, required=False)
    priority = serializers.IntegerField(min_value=MIN_PRIORITY, max_value=MAX_PRIORITY, required=False)
    client_id = serializers.UUIDField(required=False)
    client_type = serializers.ChoiceField(choices=ClientType.choices, required=False)
    agent_id = serializers.UUIDField(required=False)
    sla_breached = serializers.BooleanField(required=False)
    # ISO-8601 date or date-time on createdAt, inclusive; a bare `to` date covers its whole day.
    from_ = serializers.CharField(required=False, help_text="createdAt lower bound")
    to = serializers.CharField(required=False, help_text="createdAt upper bound")

    def validate(self, attrs):
        created_from, created_to = parse_range({"from": attrs.pop("from_", None), "to": attrs.pop("to", None)})
        return {**attrs, "created_from": created_from, "created_to": created_to}


# --- Events ------------------------------------------------------------------------------
class TicketEventOutput(camelcase.ModelSerializer):
    ticket_id = serializers.UUIDField()
    actor_id = serializers.UUIDField(allow_null=True)
    actor_email = serializers.EmailField(source="actor.email", allow_null=True, default=None)
    from_status = serializers.CharField(allow_null=True)
    to_status = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()

    class Meta:
        model = TicketEvent
        fields = [
            "id",
            "ticket_id",
            "kind",
            "actor_id",
            "actor_email",
            "from_status",
            "to_status",
            "data",
            "created_at",
        ]

    def to_representation(self, instance):
        data = super().to_representation(instance)
        # Stored as "" for "no status"; on the wire that is null.
        data["fromStatus"] = data["fromStatus"] or None
        data["toStatus"] = data["toStatus"] or None
        return data


# --- Notifications -----------------------------------------------------------------------
class NotificationOutput(camelcase.ModelSerializer):
    ticket_id = serializers.UUIDField()
    created_at = serializers.DateTimeField()
    read_at = serializers.DateTimeField(allow_null=True)

    class Meta:
        model = Notification
        fields = ["id", "kind", "ticket_id", "message", "created_at", "read_at"]


class NotificationListFilter(camelcase.Serializer):
    unread = serializers.BooleanField(required=False, allow_null=True, default=None)
