"""Tickets in the back-office: the list (SLA badges, filters, bulk actions) and the change page
(triage panel, editable title/description/priority, the audit trail in words)."""

import uuid

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.widgets import AutocompleteSelect
from django.template.response import TemplateResponse
from django.utils import timezone

from accounts.models import User
from accounts.roles import Role
from techsupport.exceptions import AppError
from tickets.admin.audit import audit_trail_html
from tickets.admin.sla_badge import sla_badge_html
from tickets.admin.ticket_actions import triage_context, triage_urls
from tickets.admin.ticket_filters import AtRiskFilter, BreachedFilter, EscalationLevelFilter, LiveFilter
from tickets.models import Ticket
from tickets.services import ticket_assign, ticket_change_status, ticket_create, ticket_update
from tickets.states import TicketStatus

EDITABLE = ["title", "description", "priority"]
STATUS_AND_SLA = [
    "status",
    "agent",
    "escalation_level",
    "sla_badge",
    "sla_warning_at",
    "sla_due_at",
    "sla_breached_at",
    "sla_next_check_at",
    "sla_paused_at",
    "sla_paused_minutes",
    "resolved_at",
    "resolution_time_min",
]
RECORD = ["id", "client", "created_at", "updated_at", "deleted_at"]


class TicketAdminForm(forms.ModelForm):
    class Meta:
        model = Ticket
        fields = ["client", *EDITABLE]

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


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    form = TicketAdminForm
    change_form_template = "admin/tickets/ticket/change_form.html"
    list_display = ["short_id", "title", "client_tier", "status", "agent_name", "level", "created", "sla_badge"]
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
    actions = ["assign_to_agent", "start_progress", "resolve", "close", "escalate"]
    list_per_page = 50
    # The filtered count is enough; a second count over every ticket costs more than it tells.
    show_full_result_count = False
    readonly_fields = [*RECORD, *STATUS_AND_SLA, "audit_trail"]

    class Media:
        css = {"all": ["tickets/admin/tickets.css"]}

    def get_urls(self):
        return triage_urls(self) + super().get_urls()

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return [(None, {"fields": ["client", *EDITABLE]})]
        return [
            (None, {"fields": EDITABLE}),
            ("Status and SLA", {"fields": STATUS_AND_SLA}),
            ("Record", {"fields": RECORD, "classes": ["collapse"]}),
            ("Audit trail", {"fields": ["audit_trail"]}),
        ]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    def change_view(self, request, object_id, form_url="", extra_context=None):
        ticket = self.get_object(request, object_id)
        if ticket is not None and self.has_change_permission(request, ticket):
            extra_context = {**(extra_context or {}), "triage": triage_context(ticket)}
        return super().change_view(request, object_id, form_url, extra_context)

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

    # --- columns and read-only fields ---------------------------------------------------
    @admin.display(description="id", ordering="id")
    def short_id(self, ticket):
        return str(ticket.pk)[:8]

    @admin.display(description="client", ordering="client__name")
    def client_tier(self, ticket):
        return f"{ticket.client.name} · {ticket.client_type}"

    @admin.display(description="agent", ordering="agent__name")
    def agent_name(self, ticket):
        return (ticket.agent.name or ticket.agent.email) if ticket.agent else "—"

    @admin.display(description="esc.", ordering="escalation_level")
    def level(self, ticket):
        return ticket.escalation_level

    @admin.display(description="created", ordering="created_at")
    def created(self, ticket):
        return timezone.localtime(ticket.created_at).strftime("%Y-%m-%d %H:%M")

    @admin.display(description="SLA", ordering="sla_due_at")
    def sla_badge(self, ticket):
        return sla_badge_html(ticket, now=timezone.now())

    @admin.display(description="audit trail")
    def audit_trail(self, ticket):
        return audit_trail_html(ticket)

    # --- bulk actions -------------------------------------------------------------------
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

    def _each(self, request, queryset, change, verb: str) -> None:
        """`change(ticket)` on every selected ticket, oldest first; refusals are reported, not raised."""
        done, refused = 0, []
        for ticket in queryset.order_by("created_at", "id"):
            try:
                change(ticket)
                done += 1
            except AppError as error:
                refused.append((ticket, error))
        self._report(request, done, verb, refused)

    def _move(self, request, queryset, to_status: str, verb: str) -> None:
        def move(ticket):
            ticket_change_status(ticket=ticket, to_status=to_status, actor=request.user)

        self._each(request, queryset, move, verb)

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

            def assign(ticket):
                ticket_assign(ticket=ticket, agent_id=agent.pk, actor=request.user)

            self._each(request, queryset, assign, f"assigned to {agent.email}")
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
