"""The supervisors' back-office: triage, reassignment, SLA risk.

Every change goes through tickets/services.py, ticket by ticket, so the transition table, the
assignment rules and the audit trail apply here exactly as in the API. Status, agent and
escalation level are read-only in the change form; they move only through the actions.
"""

import uuid
from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.contrib.admin.widgets import AutocompleteSelect
from django.db.models import Q
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from accounts.models import User
from accounts.roles import Role
from techsupport.exceptions import AppError
from tickets import sla
from tickets.models import Client, Notification, SlaPolicy, Ticket, TicketEvent
from tickets.selectors import breached_q
from tickets.services import (
    POLICY_FIELDS,
    client_create,
    client_update,
    sla_policy_update,
    sla_policy_values,
    ticket_assign,
    ticket_change_status,
    ticket_create,
    ticket_update,
)
from tickets.states import CLOCK_STOPPED, ClientType, TicketStatus

BADGE_COLOURS = {"ok": "#2e7d32", "risk": "#ef8f00", "breached": "#c62828", "stopped": "#757575"}


def _duration(delta: timedelta) -> str:
    minutes = int(abs(delta.total_seconds()) // 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days}d {hours}h"
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m"


# --- Clients and SLA policies ------------------------------------------------------------
@admin.register(Client)
class ClientAdmin(admin.ModelAdmin):
    list_display = ["name", "email", "type", "company", "created_at"]
    list_filter = ["type"]
    search_fields = ["name", "email", "company"]
    ordering = ["name"]
    readonly_fields = ["id", "created_at"]
    fields = ["id", "name", "email", "type", "company", "created_at"]

    def has_delete_permission(self, request, obj=None):
        return False  # clients own tickets and history; nothing is hard-deleted here

    def save_model(self, request, obj, form, change):
        if change:
            client_update(client=obj, **{name: form.cleaned_data[name] for name in form.changed_data})
            return
        created = client_create(name=obj.name, email=obj.email, type=obj.type, company=obj.company)
        obj.pk, obj.created_at, obj.email = created.pk, created.created_at, created.email
        obj._state.adding = False


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin):
    list_display = [
        "client_type",
        "target_hours",
        "breach_action",
        "escalation_ceiling",
        "warning_threshold",
        "updated_at",
    ]
    readonly_fields = ["updated_at"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "client_type",
                    "target_hours",
                    "breach_action",
                    "escalation_ceiling",
                    "warning_threshold",
                    "updated_at",
                ],
                "description": (
                    "Changes apply to tickets created afterwards: an open ticket keeps the due time it "
                    "was given at creation. The warning threshold, the breach action, the escalation "
                    "ceiling and the window between escalations are read by each SLA sweep, so they "
                    "also govern the next steps of open tickets."
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


# --- Ticket list filters -----------------------------------------------------------------
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


# --- Tickets -----------------------------------------------------------------------------
class TicketEventInline(admin.TabularInline):
    model = TicketEvent
    fields = ["created_at", "kind", "actor", "from_status", "to_status", "data"]
    readonly_fields = fields
    ordering = ["created_at", "id"]
    extra = 0
    can_delete = False
    show_change_link = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class TicketAdminForm(forms.ModelForm):
    class Meta:
        model = Ticket
        fields = ["client", "title", "description", "priority"]

    def clean_title(self):
        title = self.cleaned_data["title"].strip()
        if len(title) < 3:
            raise forms.ValidationError("At least 3 characters.")
        return title

    def clean_description(self):
        description = self.cleaned_data["description"].strip()
        if len(description) < 3:
            raise forms.ValidationError("At least 3 characters.")
        return description


class AssignAgentForm(forms.Form):
    agent = forms.ModelChoiceField(
        queryset=User.objects.filter(role=Role.AGENT, is_active=True),
        widget=AutocompleteSelect(Ticket._meta.get_field("agent"), admin.site),
        help_text="Escalated tickets need an agent of level 2 or higher.",
    )


class TicketChangeList(ChangeList):
    """Gives each row of the page its tier's warning threshold (for the SLA badge) with one
    query per page, instead of a subquery per row."""

    def get_results(self, request):
        super().get_results(request)
        thresholds = {policy.client_type: policy.warning_threshold for policy in SlaPolicy.objects.all()}
        for ticket in self.result_list:
            ticket.warning_threshold = thresholds.get(ticket.client_type)


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    form = TicketAdminForm
    list_display = [
        "short_id",
        "title",
        "client",
        "tier",
        "status",
        "agent",
        "escalation_level",
        "created_at",
        "sla_badge",
    ]
    list_display_links = ["short_id", "title"]
    list_filter = [
        "status",
        ("client_type", admin.ChoicesFieldListFilter),
        "agent",
        EscalationLevelFilter,
        ("created_at", admin.DateFieldListFilter),
        LiveFilter,
        BreachedFilter,
        AtRiskFilter,
    ]
    list_select_related = ["client", "agent"]
    search_fields = ["title", "client__name"]
    search_help_text = "Title, client name, or a ticket id."
    ordering = ["-created_at", "-id"]
    autocomplete_fields = ["client"]
    inlines = [TicketEventInline]
    actions = ["assign_to_agent", "start_progress", "resolve", "close", "escalate"]
    list_per_page = 50
    # The filtered count is enough; a second count over every ticket costs more than it tells.
    show_full_result_count = False
    readonly_fields = [
        "id",
        "client",
        "status",
        "agent",
        "escalation_level",
        "created_at",
        "updated_at",
        "resolved_at",
        "resolution_time_min",
        "sla_due_at",
        "sla_badge",
        "sla_breached_at",
        "sla_next_check_at",
        "deleted_at",
    ]

    def get_changelist(self, request, **kwargs):
        return TicketChangeList

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["client", "title", "description", "priority"]
        return ["id", "title", "description", "priority", *self.readonly_fields[1:]]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    def get_search_results(self, request, queryset, search_term):
        try:
            return queryset.filter(pk=uuid.UUID(search_term.strip())), False
        except ValueError:
            return super().get_search_results(request, queryset, search_term)

    def has_delete_permission(self, request, obj=None):
        return False  # tickets are soft-deleted through the API, never removed

    def has_change_permission(self, request, obj=None):
        # A soft-deleted ticket is history: viewable, but the services refuse to change it.
        if obj is not None and obj.deleted_at is not None:
            return False
        return super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        if change:
            changes = {name: form.cleaned_data[name] for name in form.changed_data if name in form.cleaned_data}
            ticket_update(ticket=obj, actor=request.user, **changes)
            return
        created = ticket_create(
            title=obj.title, description=obj.description, client=obj.client, priority=obj.priority, actor=request.user
        )
        obj.pk = created.pk
        obj._state.adding = False

    # --- columns ----------------------------------------------------------------------
    @admin.display(description="id", ordering="id")
    def short_id(self, ticket):
        return str(ticket.pk)[:8]

    @admin.display(description="tier", ordering="client_type")
    def tier(self, ticket):
        return ticket.client_type

    @admin.display(description="SLA due", ordering="sla_due_at")
    def sla_badge(self, ticket):
        if ticket.sla_due_at is None:
            return "—"
        now = timezone.now()
        threshold = getattr(ticket, "warning_threshold", None)
        if threshold is None:
            threshold = sla_policy_values(ticket.client_type).warning_threshold
        running = ticket.clock_running
        breached = sla.is_breached(
            due=ticket.sla_due_at,
            breached_at=ticket.sla_breached_at,
            resolved_at=ticket.resolved_at,
            clock_running=running,
            now=now,
        )
        if not running:
            state, text = ("breached" if breached else "stopped"), ("breached, stopped" if breached else "stopped")
        elif breached:
            state, text = "breached", f"overdue {_duration(now - ticket.sla_due_at)}"
        elif sla.is_at_risk(
            created_at=ticket.created_at,
            due=ticket.sla_due_at,
            warning_threshold=threshold,
            clock_running=True,
            now=now,
        ):
            state, text = "risk", f"{_duration(ticket.sla_due_at - now)} left"
        else:
            state, text = "ok", f"{_duration(ticket.sla_due_at - now)} left"
        return format_html(
            '<span title="due {}" style="background:{};color:#fff;padding:2px 6px;border-radius:8px;'
            'white-space:nowrap">{}</span>',
            ticket.sla_due_at.strftime("%Y-%m-%d %H:%M UTC"),
            BADGE_COLOURS[state],
            text,
        )

    # --- actions ----------------------------------------------------------------------
    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def _report(self, request, done: int, verb: str, refused: list[tuple[Ticket, AppError]]) -> None:
        if done:
            self.message_user(request, f"{done} ticket(s) {verb}.", messages.SUCCESS)
        for ticket, error in refused:
            self.message_user(
                request,
                f"Refused «{ticket.title}» ({str(ticket.pk)[:8]}): {error.message} [{error.code}]",
                messages.WARNING,
            )

    def _move(self, request, queryset, to_status: str, verb: str) -> None:
        done, refused = 0, []
        for ticket in queryset.order_by("created_at", "id"):
            try:
                ticket_change_status(ticket=ticket, to_status=to_status, actor=request.user)
                done += 1
            except AppError as error:
                refused.append((ticket, error))
        self._report(request, done, verb, refused)

    @admin.action(description="Start progress on selected tickets", permissions=["change"])
    def start_progress(self, request, queryset):
        self._move(request, queryset, TicketStatus.IN_PROGRESS, "moved to IN_PROGRESS")

    @admin.action(description="Resolve selected tickets", permissions=["change"])
    def resolve(self, request, queryset):
        self._move(request, queryset, TicketStatus.RESOLVED, "resolved")

    @admin.action(description="Close selected tickets", permissions=["change"])
    def close(self, request, queryset):
        self._move(request, queryset, TicketStatus.CLOSED, "closed")

    @admin.action(description="Escalate selected tickets", permissions=["change"])
    def escalate(self, request, queryset):
        self._move(request, queryset, TicketStatus.ESCALATED, "escalated")

    @admin.action(description="Assign selected tickets to an agent…", permissions=["change"])
    def assign_to_agent(self, request, queryset):
        form = AssignAgentForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            agent = form.cleaned_data["agent"]
            done, refused = 0, []
            for ticket in queryset.order_by("created_at", "id"):
                try:
                    ticket_assign(ticket=ticket, agent_id=agent.pk, actor=request.user)
                    done += 1
                except AppError as error:
                    refused.append((ticket, error))
            self._report(request, done, f"assigned to {agent.email}", refused)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Assign tickets to an agent",
            "opts": self.model._meta,
            "form": form,
            "media": self.media + form.media,
            "tickets": queryset.select_related("client"),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/tickets/ticket/assign_agent.html", context)


# --- Notifications -----------------------------------------------------------------------
class ReadFilter(admin.SimpleListFilter):
    title = "read"
    parameter_name = "read"

    def lookups(self, request, model_admin):
        return [("yes", "Read"), ("no", "Unread")]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(read_at__isnull=self.value() == "no")
        return queryset


class DeliveryFilter(admin.SimpleListFilter):
    """Rows with a channel still pending or failed: what an operator looks at when the SMTP
    server or the webhook was down."""

    title = "delivery"
    parameter_name = "delivery"

    def lookups(self, request, model_admin):
        return [("pending", "Pending"), ("failed", "Failed")]

    def queryset(self, request, queryset):
        if self.value() in ("pending", "failed"):
            return queryset.filter(Q(email_status=self.value()) | Q(webhook_status=self.value()))
        return queryset


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    """Read-only: notifications are written by the SLA sweep and delivered by the outbox tasks."""

    list_display = [
        "created_at",
        "kind",
        "recipient",
        "ticket_link",
        "read_at",
        "email_status",
        "webhook_status",
        "attempts",
    ]
    list_filter = [
        "kind",
        ReadFilter,
        DeliveryFilter,
        "email_status",
        "webhook_status",
        ("created_at", admin.DateFieldListFilter),
    ]
    list_select_related = ["recipient", "ticket"]
    search_fields = ["recipient__email", "ticket__title", "message"]
    ordering = ["-created_at", "-id"]
    list_per_page = 50
    show_full_result_count = False
    date_hierarchy = None
    fields = [
        "id",
        "kind",
        "recipient",
        "ticket",
        "message",
        "data",
        "created_at",
        "read_at",
        "email_status",
        "webhook_status",
        "attempts",
        "last_error",
        "updated_at",
    ]
    readonly_fields = fields

    @admin.display(description="ticket", ordering="ticket__created_at")
    def ticket_link(self, notification):
        url = reverse("admin:tickets_ticket_change", args=[notification.ticket_id])
        return format_html('<a href="{}">{}</a>', url, notification.ticket.title)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
