"""The list's fast path (value tuples → TicketOutput's shape, one statement for count and page)
answers exactly what the serializer answers: the same bytes, for tickets in every state."""

from datetime import UTC, datetime, timedelta
from datetime import timezone as dt_timezone
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer

from techsupport import serializer_rows
from techsupport.pagination import EXACT_COUNT_MAX, TOTAL_ESTIMATED_HEADER
from tests.conftest import client_for
from tests.tickets.factories import ClientFactory, TicketFactory
from tickets import selectors
from tickets.models import Ticket
from tickets.serializers import TicketOutput
from tickets.states import ClientType, TicketStatus
from tickets.views import TICKET_ROWS

pytestmark = pytest.mark.django_db


def _every_state(agent):
    now = timezone.now()
    vip = ClientFactory(type=ClientType.VIP)
    made = [
        TicketFactory(status=status, agent=agent if status != TicketStatus.OPEN else None)
        for status in TicketStatus.values
    ]
    made += [
        # resolved late, with fractional minutes; stamped breach; overdue and not yet swept
        TicketFactory(
            status=TicketStatus.RESOLVED,
            resolved_at=now - timedelta(minutes=1),
            resolution_time_min=1501.37,
            sla_breached_at=now - timedelta(hours=2),
            created_at=now - timedelta(days=2),
        ),
        TicketFactory(client=vip, status=TicketStatus.ESCALATED, escalation_level=2, sla_breached_at=now, agent=agent),
        TicketFactory(client=vip, created_at=now - timedelta(hours=3)),
        # whole-second and edge timestamps; text that JSON must escape
        TicketFactory(created_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), title='Quote " back\\slash \u2028 ñ'),
        TicketFactory(sla_due_at=datetime.max.replace(tzinfo=UTC), description="line\nbreak\ttab \x01 end"),
        TicketFactory(sla_due_at=None, sla_next_check_at=None, priority=1),
        # a first-response target, met
        TicketFactory(
            first_response_due_at=now + timedelta(minutes=15),
            first_response_warning_at=now + timedelta(minutes=12),
            first_responded_at=now - timedelta(seconds=1),
        ),
        # paused: the remaining minutes frozen at the pause
        TicketFactory(
            status=TicketStatus.WAITING_CUSTOMER, sla_paused_at=now - timedelta(minutes=5), sla_next_check_at=None
        ),
    ]
    return made


def test_rows_render_byte_for_byte_as_the_serializer(agent):
    _every_state(agent)
    now = timezone.now()
    tickets = list(Ticket.objects.order_by("-created_at", "-id"))
    rows = list(Ticket.objects.order_by("-created_at", "-id").values_list(*TICKET_ROWS.columns))

    expected = JSONRenderer().render(TicketOutput(tickets, many=True, context={"now": now}).data)
    actual = JSONRenderer().render(TICKET_ROWS.data(rows, {"now": now}))

    assert len(tickets) == 14
    assert actual == expected


def test_the_api_list_is_the_serializer_output(agent):
    _every_state(agent)
    response = client_for(agent).get("/api/tickets?pageSize=100")
    body = response.json()

    tickets = list(Ticket.objects.order_by("-created_at", "-id"))
    expected = TicketOutput(tickets, many=True, context={"now": timezone.now()}).data
    for item in expected:  # the clock moved between the two; the rest must agree
        item.pop("slaRemainingMinutes")
    for item in body["data"]:
        item.pop("slaRemainingMinutes")
    assert body["data"] == [dict(item) for item in expected]
    assert (body["total"], body["page"], body["pageSize"]) == (14, 1, 100)
    assert TOTAL_ESTIMATED_HEADER not in response


def test_a_page_past_the_end_is_empty_with_the_total(agent):
    TicketFactory.create_batch(3)
    body = client_for(agent).get("/api/tickets?page=9").json()
    assert body == {"data": [], "total": 3, "page": 9, "pageSize": 20}


@pytest.mark.postgres
def test_past_the_bound_the_total_is_an_estimate_and_says_so(agent):
    client = ClientFactory()
    now = timezone.now()
    Ticket.objects.bulk_create(
        Ticket(
            title=f"T{n}",
            description="bulk",
            client=client,
            client_type=client.type,
            created_at=now - timedelta(seconds=n),
            updated_at=now,
        )
        for n in range(EXACT_COUNT_MAX + 5)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE tickets_ticket")

    response = client_for(agent).get("/api/tickets?page=2")

    assert response[TOTAL_ESTIMATED_HEADER] == "true"
    assert response.json()["total"] > EXACT_COUNT_MAX
    assert [t["title"] for t in response.json()["data"]] == [f"T{n}" for n in range(20, 40)]


@pytest.mark.postgres
def test_breached_branches_are_the_breached_filter(agent):
    tickets = _every_state(agent)
    now = timezone.now()
    TicketFactory(created_at=now - timedelta(days=3))  # overdue, never swept
    branches = selectors.ticket_list_branches(now=now, sla_breached=True)
    one_query = selectors.ticket_list(now=now, sla_breached=True)

    union = [t.pk for branch in branches for t in branch]
    assert sorted(union) == sorted(t.pk for t in one_query)
    # stamped: the late resolution, the escalated VIP; not yet swept: the VIP 3 h old, the
    # January ticket, the 3-day-old one
    assert len(union) == len(set(union)) == 5
    assert len(tickets) == 14


@pytest.mark.parametrize(
    "value",
    [
        datetime(2026, 12, 5, 5, 11, 4, 123456, tzinfo=UTC),  # what the driver gives
        datetime(2026, 12, 5, 5, 11, 4, tzinfo=UTC),  # whole second: still six digits
        datetime(2026, 3, 29, 3, 30, tzinfo=ZoneInfo("Europe/Madrid")),  # another zone
        datetime(2026, 12, 5, 5, 11, 4, 7, tzinfo=dt_timezone(timedelta(hours=-3))),
        datetime(2026, 12, 5, 5, 11, 4, tzinfo=ZoneInfo("UTC")),  # UTC, but not the same object
        datetime(999, 1, 2, 3, 4, 5, tzinfo=UTC),  # strftime does not pad the year
    ],
)
def test_datetimes_are_drf_s_text(value):
    expected = serializers.DateTimeField().to_representation(value)

    assert serializer_rows._utc_text(value) == expected
