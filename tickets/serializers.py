"""Wire shapes of clients, tickets and events (camelCase), and the validated query filters."""

from rest_framework import serializers

from techsupport.validation import parse_range
from tickets import sla
from tickets.models import MAX_PRIORITY, MIN_PRIORITY, Client, Notification, Ticket, TicketEvent
from tickets.states import ClientType, TicketStatus


# --- Clients -----------------------------------------------------------------------------
class ClientOutput(serializers.ModelSerializer):
    createdAt = serializers.DateTimeField(source="created_at")  # noqa: N815

    class Meta:
        model = Client
        fields = ["id", "name", "email", "type", "company", "createdAt"]


class ClientCreateInput(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    email = serializers.EmailField(max_length=254)
    type = serializers.ChoiceField(choices=ClientType.choices)
    company = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class ClientUpdateInput(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    email = serializers.EmailField(max_length=254, required=False)
    type = serializers.ChoiceField(choices=ClientType.choices, required=False)
    company = serializers.CharField(max_length=200, required=False, allow_blank=True)

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError("Send at least one of name, email, type, company.")
        return attrs


class ClientListFilter(serializers.Serializer):
    type = serializers.ChoiceField(choices=ClientType.choices, required=False)
    q = serializers.CharField(max_length=200, required=False, allow_blank=True)


# --- Tickets -----------------------------------------------------------------------------
class TicketOutput(serializers.ModelSerializer):
    """Needs `context["now"]` (one instant per response, so every row agrees)."""

    clientId = serializers.UUIDField(source="client_id")  # noqa: N815
    clientType = serializers.CharField(source="client_type")  # noqa: N815
    agentId = serializers.UUIDField(source="agent_id", allow_null=True)  # noqa: N815
    escalationLevel = serializers.IntegerField(source="escalation_level")  # noqa: N815
    createdAt = serializers.DateTimeField(source="created_at")  # noqa: N815
    updatedAt = serializers.DateTimeField(source="updated_at")  # noqa: N815
    resolvedAt = serializers.DateTimeField(source="resolved_at", allow_null=True)  # noqa: N815
    resolutionTimeMin = serializers.FloatField(source="resolution_time_min", allow_null=True)  # noqa: N815
    slaDueAt = serializers.DateTimeField(source="sla_due_at", allow_null=True)  # noqa: N815
    slaBreached = serializers.SerializerMethodField()  # noqa: N815
    slaRemainingMinutes = serializers.SerializerMethodField()  # noqa: N815
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
            "clientId",
            "clientType",
            "agentId",
            "escalationLevel",
            "createdAt",
            "updatedAt",
            "resolvedAt",
            "resolutionTimeMin",
            "slaDueAt",
            "slaBreached",
            "slaRemainingMinutes",
            "version",
        ]

    def get_slaBreached(self, ticket) -> bool:  # noqa: N802
        return sla.is_breached(
            due=ticket.sla_due_at,
            breached_at=ticket.sla_breached_at,
            resolved_at=ticket.resolved_at,
            clock_running=ticket.clock_running,
            now=self.context["now"],
        )

    def get_slaRemainingMinutes(self, ticket) -> int | None:  # noqa: N802
        return sla.remaining_minutes(due=ticket.sla_due_at, clock_running=ticket.clock_running, now=self.context["now"])


class TicketCreateInput(serializers.Serializer):
    title = serializers.CharField(min_length=3, max_length=200)
    description = serializers.CharField(min_length=3, max_length=10_000)
    clientId = serializers.UUIDField()  # noqa: N815
    priority = serializers.IntegerField(min_value=MIN_PRIORITY, max_value=MAX_PRIORITY, default=3)


class TicketStatusInput(serializers.Serializer):
    status = serializers.ChoiceField(choices=TicketStatus.choices)
    expectedStatus = serializers.ChoiceField(  # noqa: N815
        choices=TicketStatus.choices,
        required=False,
        help_text="The status the change is based on: if the ticket has left it, 409 (the change is not applied).",
    )


class TicketAssignInput(serializers.Serializer):
    agentId = serializers.UUIDField()  # noqa: N815


class TicketListFilter(serializers.Serializer):
    status = serializers.ChoiceField(choices=TicketStatus.choices, required=False)
    priority = serializers.IntegerField(min_value=MIN_PRIORITY, max_value=MAX_PRIORITY, required=False)
    clientId = serializers.UUIDField(required=False)  # noqa: N815
    clientType = serializers.ChoiceField(choices=ClientType.choices, required=False)  # noqa: N815
    agentId = serializers.UUIDField(required=False)  # noqa: N815
    slaBreached = serializers.BooleanField(required=False)  # noqa: N815
    # ISO-8601 date or date-time on createdAt, inclusive; a bare `to` date covers its whole day.
    # (`from` is a Python keyword; the field is declared in __init__.)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["from"] = serializers.CharField(required=False, help_text="createdAt lower bound")
        self.fields["to"] = serializers.CharField(required=False, help_text="createdAt upper bound")

    def validate(self, attrs):
        created_from, created_to = parse_range(attrs)
        return {
            "status": attrs.get("status"),
            "priority": attrs.get("priority"),
            "client_id": attrs.get("clientId"),
            "client_type": attrs.get("clientType"),
            "agent_id": attrs.get("agentId"),
            "sla_breached": attrs.get("slaBreached"),
            "created_from": created_from,
            "created_to": created_to,
        }


# --- Events ------------------------------------------------------------------------------
class TicketEventOutput(serializers.ModelSerializer):
    ticketId = serializers.UUIDField(source="ticket_id")  # noqa: N815
    actorId = serializers.UUIDField(source="actor_id", allow_null=True)  # noqa: N815
    actorEmail = serializers.EmailField(source="actor.email", allow_null=True, default=None)  # noqa: N815
    fromStatus = serializers.CharField(source="from_status", allow_null=True)  # noqa: N815
    toStatus = serializers.CharField(source="to_status", allow_null=True)  # noqa: N815
    createdAt = serializers.DateTimeField(source="created_at")  # noqa: N815

    class Meta:
        model = TicketEvent
        fields = ["id", "ticketId", "kind", "actorId", "actorEmail", "fromStatus", "toStatus", "data", "createdAt"]

    def to_representation(self, instance):
        data = super().to_representation(instance)
        # Stored as "" for "no status"; on the wire that is null.
        data["fromStatus"] = data["fromStatus"] or None
        data["toStatus"] = data["toStatus"] or None
        return data


# --- Notifications -----------------------------------------------------------------------
class NotificationOutput(serializers.ModelSerializer):
    ticketId = serializers.UUIDField(source="ticket_id")  # noqa: N815
    createdAt = serializers.DateTimeField(source="created_at")  # noqa: N815
    readAt = serializers.DateTimeField(source="read_at", allow_null=True)  # noqa: N815

    class Meta:
        model = Notification
        fields = ["id", "kind", "ticketId", "message", "createdAt", "readAt"]


class NotificationListFilter(serializers.Serializer):
    unread = serializers.BooleanField(required=False, allow_null=True, default=None)
