"""The ticket list's own filters (the others are Django's field filters)."""

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.db.models import Q
from django.utils import timezone

from tickets import sla
from tickets.selectors import breached_q
from tickets.services import sla_policy_values
from tickets.states import CLOCK_STOPPED, ClientType


class LiveFilter(admin.SimpleListFilter):
    """Live tickets by default; soft-deleted ones on request."""

    title = "deleted"
    parameter_name = "deleted"

    def lookups(self, request, model_admin):
        return [("no", "Live"), ("yes", "Deleted"), ("all", "All")]

    def choices(self, changelist):
        for value, label in self.lookup_choices:
            yield {
                "selected": (self.value() or "no") == value,
                "query_string": changelist.get_query_string({self.parameter_name: value}),
                "display": label,
            }

    def queryset(self, request, queryset):
        value = self.value() or "no"
        if value == "yes":
            return queryset.filter(deleted_at__isnull=False)
        if value == "no":
            return queryset.filter(deleted_at__isnull=True)
        return queryset


class EscalationLevelFilter(admin.SimpleListFilter):
    # Fixed choices: the default filter would run SELECT DISTINCT over every ticket.
    title = "escalation level"
    parameter_name = "escalation_level"

    def lookups(self, request, model_admin):
        return [("0", "0"), ("1", "1"), ("2", "2"), ("3", "3+")]

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        if self.value() not in {"0", "1", "2", "3"}:
            # The admin's answer to a hand-edited filter: its "invalid lookup" redirect (was a 500).
            raise IncorrectLookupParameters(f"Unknown escalation level {self.value()!r}.")
        level = int(self.value())
        return queryset.filter(escalation_level__gte=3) if level == 3 else queryset.filter(escalation_level=level)


class BreachedFilter(admin.SimpleListFilter):
    title = "SLA breached"
    parameter_name = "breached"

    def lookups(self, request, model_admin):
        return [("yes", "Breached"), ("no", "Within SLA")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(breached_q(timezone.now()))
        if self.value() == "no":
            return queryset.exclude(breached_q(timezone.now()))
        return queryset


class AtRiskFilter(admin.SimpleListFilter):
    """Clock running, not breached, past the tier's warning threshold."""

    title = "SLA at risk"
    parameter_name = "at_risk"

    def lookups(self, request, model_admin):
        return [("yes", "At risk")]

    def queryset(self, request, queryset):
        if self.value() != "yes":
            return queryset
        now = timezone.now()
        per_tier = Q(pk__in=[])
        for tier in ClientType.values:
            horizon = sla.risk_horizon(now, sla_policy_values(tier))
            per_tier |= Q(client_type=tier, sla_due_at__lte=horizon)
        return queryset.filter(per_tier, sla_due_at__gte=now, sla_breached_at__isnull=True).exclude(
            status__in=CLOCK_STOPPED
        )
