"""The change page's triage panel: move, assign or comment one ticket, through the same services
as the API (the transition table, the level rule and the audit trail apply unchanged).

Each panel form posts to its own admin URL; the view calls one service and comes back to the
change page with the outcome as an admin message (a refusal names the rule and its error code).
"""

from collections.abc import Callable
from functools import partial

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.models import User
from techsupport.exceptions import AppError
from tickets.admin.sla_badge import sla_badge_html
from tickets.models import Ticket
from tickets.selectors import agents_eligible_for
from tickets.services import (
    COMMENT_MAX_LENGTH,
    ticket_assign,
    ticket_change_status,
    ticket_comment,
)
from tickets.states import TicketStatus, allowed_targets


class TicketAssignForm(forms.Form):
    agent = forms.ModelChoiceField(queryset=User.objects.none(), empty_label="Choose an agent…")

    def __init__(self, *args, ticket: Ticket, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["agent"]
        field.queryset = agents_eligible_for(ticket)
        field.label_from_instance = lambda agent: f"{agent.email} · level {agent.level}"


class TicketCommentForm(forms.Form):
    text = forms.CharField(
        label="Comment",
        max_length=COMMENT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "A note for the audit trail…"}),
    )


def triage_context(ticket: Ticket) -> dict:
    """What the panel draws: the transitions the table allows from the current status, the
    agents the level rule accepts now, an empty comment box."""
    return {
        "ticket": ticket,
        "badge": sla_badge_html(ticket, now=timezone.now()),
        "transitions": [(status, TicketStatus(status).label) for status in allowed_targets(ticket.status)],
        "assign_form": TicketAssignForm(ticket=ticket),
        "comment_form": TicketCommentForm(),
        "needs_senior": ticket.status == TicketStatus.ESCALATED,
    }


def triage_urls(model_admin) -> list:
    wrap = model_admin.admin_site.admin_view
    views = {"transition": transition_view, "assign": assign_view, "comment": comment_view}
    return [
        path(f"<uuid:ticket_id>/{name}/", wrap(partial(view, model_admin=model_admin)), name=f"tickets_ticket_{name}")
        for name, view in views.items()
    ]


def _ticket_for_change(model_admin, request, ticket_id) -> Ticket:
    ticket = Ticket.objects.select_related("agent").filter(pk=ticket_id).first()
    if ticket is None:
        raise Http404("The ticket does not exist.")
    if not model_admin.has_change_permission(request, ticket):
        raise PermissionDenied
    return ticket


def _back(ticket: Ticket) -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse("admin:tickets_ticket_change", args=[ticket.pk]))


def _seen_version(request) -> int | None:
    try:
        return int(request.POST["seen_version"])
    except (KeyError, ValueError):
        return None


def _run(request, change: Callable[[], object], done: str) -> None:
    try:
        change()
    except AppError as error:
        messages.error(request, f"{error.message} [{error.code}]")
    else:
        messages.success(request, done)


@require_POST
def transition_view(request, ticket_id, *, model_admin):
    """The status the page showed goes to the service as `expected_status`: a button pressed on a
    stale page (someone moved the ticket meanwhile) is refused under the row lock, so
    "→ In progress" read on an OPEN ticket never de-escalates a ticket escalated since."""
    ticket = _ticket_for_change(model_admin, request, ticket_id)
    to_status = request.POST.get("to_status", "")
    label = TicketStatus(to_status).label if to_status in TicketStatus.values else to_status
    move = partial(
        ticket_change_status,
        ticket=ticket,
        to_status=to_status,
        actor=request.user,
        expected_status=request.POST.get("seen_status") or None,
    )
    _run(request, move, f"Moved to {label}.")
    return _back(ticket)


@require_POST
def assign_view(request, ticket_id, *, model_admin):
    """The version the page showed goes to the service as `expected_version` (the level rule
    depends on the status, which may have moved since)."""
    ticket = _ticket_for_change(model_admin, request, ticket_id)
    form = TicketAssignForm(request.POST, ticket=ticket)
    if not form.is_valid():
        senior = ticket.status == TicketStatus.ESCALATED
        reason = ": an escalated ticket needs an active agent of level 2 or higher." if senior else "."
        messages.error(request, f"Choose one of the listed agents{reason}")
        return _back(ticket)
    agent = form.cleaned_data["agent"]
    assign = partial(
        ticket_assign, ticket=ticket, agent_id=agent.pk, actor=request.user, expected_version=_seen_version(request)
    )
    _run(request, assign, f"Assigned to {agent.email}.")
    return _back(ticket)


@require_POST
def comment_view(request, ticket_id, *, model_admin):
    ticket = _ticket_for_change(model_admin, request, ticket_id)
    form = TicketCommentForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"A comment needs 1 to {COMMENT_MAX_LENGTH} characters.")
        return _back(ticket)
    comment = partial(ticket_comment, ticket=ticket, text=form.cleaned_data["text"], actor=request.user)
    _run(request, comment, "Comment added to the audit trail.")
    return _back(ticket)
