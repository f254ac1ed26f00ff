"""The rows a sweep writes without model instances (COPY text on PostgreSQL, bulk_create
elsewhere: techsupport/pgcopy.py) are the rows the model-instance code wrote: same columns,
same values, whatever the ticket's title holds."""

from datetime import timedelta
from types import SimpleNamespace

import pytest
from prometheus_client import REGISTRY

from reports.models import TicketLogProjection
from reports.services import ticket_log_projections_record
from techsupport import pgcopy
from tests.accounts.factories import UserFactory
from tests.tickets.conftest import T0
from tests.tickets.factories import ClientFactory, without_first_response
from tickets import services
from tickets.models import Notification, Ticket, TicketEvent
from tickets.notifications import NotificationRows, notifications_build
from tickets.states import ClientType
from tickets.sweep import sla_sweep

pytestmark = pytest.mark.django_db

VIP_DUE = T0 + timedelta(hours=2)
# Everything COPY's text format reads as syntax, and more.
AWKWARD = "Tab\there, line\nbreak\r\nback\\slash \\N «quoted» \"double\" 'single' 🔥"
COLUMNS = ["recipient_id", "ticket_id", "kind", "message", "data", "created_at", "updated_at", "read_at"]
COLUMNS += ["email_status", "webhook_status", "attempts", "last_error"]


@pytest.fixture(params=["copy", "bulk_create"])
def path(request, monkeypatch):
    """Both ways of writing the rows: COPY (PostgreSQL) and bulk_create (any other database)."""
    if request.param == "bulk_create":
        monkeypatch.setattr(pgcopy, "connection", SimpleNamespace(vendor="other"))
    return request.param


def _ticket(title=AWKWARD, tier=ClientType.VIP):
    client = ClientFactory(type=tier)
    ticket = services.ticket_create(title=title, description="", client=client, actor=None, now=T0)
    return without_first_response(ticket)


def test_an_awkward_title_reaches_the_rows_intact(desk, path):
    ticket = _ticket()

    sla_sweep(now=VIP_DUE + timedelta(minutes=1))

    messages = set(Notification.objects.filter(ticket=ticket).values_list("message", flat=True))
    assert messages == {
        f"SLA escalation to level 1: ticket «{AWKWARD}» (VIP) was due at 2026-03-02 11:00 UTC "
        "and is still not resolved."
    }
    event = TicketEvent.objects.get(ticket=ticket, kind=TicketEvent.Kind.ESCALATED)
    assert (event.from_status, event.to_status, event.actor_id) == ("OPEN", "ESCALATED", None)
    assert event.data["slaDueAt"] == "2026-03-02T11:00:00Z"


def test_notification_rows_are_the_rows_notifications_build_makes(desk, path, settings):
    settings.SLA_WEBHOOK_URL = "https://hooks.example.com/sla"
    ticket = _ticket()
    no_email = UserFactory(email="")
    recipients = [desk.supervisor, no_email, desk.agent2]
    data = {"slaDueAt": "2026-03-02T11:00:00Z", "text": AWKWARD, "level": 2, "first": True, "none": None}
    now = T0 + timedelta(hours=3)
    built = notifications_build(
        ticket=ticket, kind="sla_breach", recipients=recipients, message=AWKWARD, data=data, now=now
    )
    Notification.objects.bulk_create(built)
    expected = list(Notification.objects.filter(pk__in=[n.pk for n in built]).values_list(*COLUMNS))
    Notification.objects.all().delete()

    rows = NotificationRows()
    rows.add(ticket_id=ticket.pk, kind="sla_breach", recipients=recipients, message=AWKWARD, data=data, now=now)
    rows.add(ticket_id=ticket.pk, kind="sla_breach", recipients=[], message="nobody", data={}, now=now)
    rows.insert()

    written = Notification.objects.filter(pk__in=rows.ids)
    assert len(rows) == len(rows.ids) == written.count() == 3
    assert sorted(written.values_list(*COLUMNS), key=str) == sorted(expected, key=str)
    statuses = {row[0]: (row[-4], row[-3]) for row in expected}  # recipient → (email, webhook)
    # The webhook rides on the first row; no address, no email.
    pending, skipped = "pending", "skipped"
    assert [statuses[user.pk] for user in recipients] == [(pending, pending), (skipped, skipped), (pending, skipped)]


def test_transitions_are_counted_once_per_batch_after_commit(desk, django_capture_on_commit_callbacks):
    for n in range(3):
        services.ticket_create(title=f"t{n}", description="", client=ClientFactory(type="VIP"), actor=None, now=T0)
    labels = {"from_status": "OPEN", "to_status": "ESCALATED"}
    before = REGISTRY.get_sample_value("ticket_transitions_total", labels) or 0.0

    with django_capture_on_commit_callbacks(execute=True):
        result = sla_sweep(now=VIP_DUE + timedelta(minutes=1))

    assert result.escalations == {1: 3}
    assert REGISTRY.get_sample_value("ticket_transitions_total", labels) - before == 3


def test_projection_rows_are_recorded_from_ids(desk, django_capture_on_commit_callbacks):
    tickets = [_ticket(title=f"p{n}") for n in range(3)]

    ids = ticket_log_projections_record(tickets=[Ticket.objects.get(pk=t.pk) for t in tickets])

    rows = TicketLogProjection.objects.filter(pk__in=ids)
    assert sorted(rows.values_list("ticket_id", flat=True), key=str) == sorted((t.pk for t in tickets), key=str)
    assert set(rows.values_list("status", "attempts", "last_error", "delivered_at")) == {("pending", 0, "", None)}


def test_the_update_joins_by_row_address_and_falls_back_to_ids(desk, caplog):
    from django.db.models.expressions import RawSQL

    from tickets.sweep import _tickets_update

    moved, kept = _ticket(title="moved"), _ticket(title="kept")
    rows = Ticket.objects.filter(pk__in=[moved.pk, kept.pk]).annotate(sweep_row=RawSQL("tickets_ticket.ctid::text", ()))
    tickets = list(rows.select_for_update())
    Ticket.objects.filter(pk=moved.pk).update(priority=5)  # a new row version: its address changes
    for ticket in tickets:
        ticket.version, ticket.escalation_level = 41, 3

    _tickets_update(tickets)

    assert set(Ticket.objects.filter(pk__in=[moved.pk, kept.pk]).values_list("version", "escalation_level")) == {
        (41, 3)
    }
    assert "updated by id" in caplog.text
