"""The notifications changelist in the back-office: read-only, filterable, no N+1."""

from datetime import timedelta

import pytest

from tests.tickets.conftest import T0
from tests.tickets.factories import TicketFactory
from tickets.models import Notification

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/tickets/notification/"


def _rows(recipients, n, **fields):
    ticket = TicketFactory(title="Router melted")
    return [
        Notification.objects.create(
            recipient=recipients[i % len(recipients)],
            ticket=ticket,
            kind="sla_escalation",
            message="Escalated.",
            created_at=T0 + timedelta(minutes=i),
            **fields,
        )
        for i in range(n)
    ]


def test_the_changelist_lists_recipient_kind_ticket_and_delivery(back_office, supervisor, agent):
    _rows([supervisor, agent], 2, email_status="failed", webhook_status="sent")

    html = back_office.get(CHANGELIST).content.decode()

    assert "Router melted" in html
    assert agent.email in html or str(agent) in html
    assert "SLA escalation" in html
    assert "Failed (retries exhausted)" in html


def test_filters(back_office, supervisor):
    failed = _rows([supervisor], 1, email_status="failed")[0]
    read = _rows([supervisor], 1, email_status="sent", read_at=T0)[0]

    failed_page = back_office.get(CHANGELIST, {"delivery": "failed"})
    read_page = back_office.get(CHANGELIST, {"read": "yes"})

    assert list(failed_page.context["cl"].result_list) == [failed]
    assert list(read_page.context["cl"].result_list) == [read]


def test_read_only(back_office, supervisor):
    row = _rows([supervisor], 1)[0]

    assert back_office.get(f"{CHANGELIST}add/").status_code == 403
    page = back_office.get(f"{CHANGELIST}{row.pk}/change/")
    assert page.status_code == 200
    assert page.context["has_change_permission"] is False


def test_the_changelist_query_count_is_constant(back_office, supervisor, agent, django_assert_max_num_queries):
    _rows([supervisor], 2)
    with django_assert_max_num_queries(100) as few:
        assert back_office.get(CHANGELIST).status_code == 200
    _rows([supervisor, agent], 40)

    with django_assert_max_num_queries(len(few.captured_queries)) as many:
        assert back_office.get(CHANGELIST).status_code == 200

    assert len(many.captured_queries) == len(few.captured_queries)
