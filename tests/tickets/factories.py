from datetime import timedelta

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from tickets import sla
from tickets.models import Client, SlaPolicy, Ticket
from tickets.states import ClientType, TicketStatus


class ClientFactory(DjangoModelFactory):
    class Meta:
        model = Client

    name = factory.Sequence(lambda n: f"Client {n}")
    email = factory.Sequence(lambda n: f"client{n}@example.com")
    type = ClientType.NORMAL
    company = factory.Faker("company")


def _due(ticket) -> timedelta:
    return sla.due_at(ticket.created_at, sla.DEFAULT_POLICIES[ticket.client_type].target_hours)


class TicketFactory(DjangoModelFactory):
    """An OPEN ticket with its SLA clock set as `ticket_create` would (default policies)."""

    class Meta:
        model = Ticket

    title = factory.Sequence(lambda n: f"Ticket {n}")
    description = "Something is broken."
    client = factory.SubFactory(ClientFactory)
    client_type = factory.LazyAttribute(lambda t: t.client.type)
    status = TicketStatus.OPEN
    priority = 3
    created_at = factory.LazyFunction(timezone.now)
    updated_at = factory.LazyAttribute(lambda t: t.created_at)
    sla_due_at = factory.LazyAttribute(_due)
    sla_warning_at = factory.LazyAttribute(
        lambda t: (
            sla.warning_at(t.created_at, t.sla_due_at, sla.DEFAULT_POLICIES[t.client_type].warning_threshold)
            if t.sla_due_at is not None
            else None
        )
    )
    sla_next_check_at = factory.LazyAttribute(lambda t: t.sla_warning_at)


def auto_assign_on(client_type: str) -> SlaPolicy:
    """Turns auto-assignment on for a tier (its policy row created with the defaults if missing,
    as in a flushed database)."""
    defaults = sla.DEFAULT_POLICIES[client_type]
    policy, _ = SlaPolicy.objects.update_or_create(
        client_type=client_type,
        defaults={
            "target_hours": defaults.target_hours,
            "breach_action": defaults.breach_action,
            "escalation_ceiling": defaults.escalation_ceiling,
            "warning_threshold": defaults.warning_threshold,
            "auto_assign": True,
        },
    )
    return policy


def without_first_response(ticket: Ticket) -> Ticket:
    """The ticket as if created before the first-response target existed (no target, the
    resolution's step alone in `sla_next_check_at`): for tests of the resolution target only."""
    Ticket.objects.filter(pk=ticket.pk).update(
        first_response_due_at=None, first_response_warning_at=None, sla_next_check_at=ticket.sla_resolution_check_at
    )
    return Ticket.objects.get(pk=ticket.pk)
