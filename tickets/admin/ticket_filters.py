"""The ticket list's own filters (the others are Django's field filters)."""

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.utils import timezone

from tickets.selectors import at_risk_q, breached_q


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
    """Clock running, not breached, past the ticket's warning instant (`at_risk_q`)."""

    title = "SLA at risk"
    parameter_name = "at_risk"

    def lookups(self, request, model_admin):
        return [("yes", "At risk")]

    def queryset(self, request, queryset):
        if self.value() != "yes":
            return queryset
        return queryset.filter(at_risk_q(timezone.now()))
