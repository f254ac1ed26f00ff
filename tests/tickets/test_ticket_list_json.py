"""List pages rendered by PostgreSQL (techsupport/serializer_rows.py `row_json_sql`, the SQL twins
in TicketOutput.sql_methods) are the bytes DRF renders from TicketOutput: for the tickets of every
state, and for any text, timestamp, float and clock that hypothesis finds."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.renderers import JSONRenderer

from techsupport.serializer_rows import SerializerRows, json_text
from tests.conftest import client_for
from tests.tickets.factories import ClientFactory, TicketFactory
from tests.tickets.test_ticket_list_fast_path import _every_state
from tickets.models import Ticket
from tickets.serializers import TicketOutput
from tickets.states import TicketStatus
from tickets.views import TICKET_ROWS

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def _sql_rows(tickets, now) -> list[str | None]:
    """The rows' JSON as PostgreSQL writes it, in the order of `tickets`."""
    sql, keys = TICKET_ROWS.row_json_sql("t")
    rows = []
    with connection.cursor() as cursor:
        for ticket in tickets:
            statement = f"SELECT {sql} FROM tickets_ticket AS t WHERE t.id = %s"  # noqa: S608 - compiled SQL
            cursor.execute(statement, [*([now] * len(keys)), ticket.pk])
            rows.append(cursor.fetchone()[0])
    return rows


def _sql_page(tickets, now) -> bytes:
    rows = _sql_rows(tickets, now)
    return json_text(rows, total=len(rows), page=1, pageSize=100).encode()


def _drf_page(tickets, now) -> bytes:
    data = TicketOutput(tickets, many=True, context={"now": now}).data
    return JSONRenderer().render({"data": data, "total": len(tickets), "page": 1, "pageSize": 100})


def test_every_state_renders_as_the_serializer(agent):
    _every_state(agent)
    TicketFactory(status=TicketStatus.OPEN, deleted_at=timezone.now())  # soft-deleted: the clock stopped
    tickets = list(Ticket.objects.order_by("-created_at", "-id"))
    for now in (timezone.now(), timezone.now() + timedelta(days=3), datetime(2000, 1, 1, tzinfo=UTC)):
        assert _sql_page(tickets, now) == _drf_page(tickets, now)


def test_the_api_answers_the_rendered_bytes(agent):
    _every_state(agent)
    tickets = list(Ticket.objects.filter(deleted_at=None).order_by("-created_at", "-id"))
    with time_machine.travel(timezone.now() + timedelta(minutes=1), tick=False):
        response = client_for(agent).get("/api/tickets?pageSize=100")
        expected = _drf_page(tickets, timezone.now())

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.content == expected


_instants = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
) | st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 1, 1), timezones=st.just(UTC)).map(
    lambda value: value.replace(microsecond=0)
)
_text = st.text(st.characters(exclude_characters="\x00", exclude_categories=("Cs",)), min_size=1, max_size=40)
_floats = (
    st.floats(min_value=-1e14, max_value=1e14)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from([0.0, -0.0, 5.0, 1e-05, 0.0001, 123.45, 1501.37, 99999999999999.9, 1e15, 3.092535278770144e18])
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    title=_text,
    description=_text | st.sampled_from(["\u2028\u2029", 'q"b\\s/', "\x01\x1f\x7f\t\n\r\b\f"]),
    status=st.sampled_from(TicketStatus.values),
    created_at=_instants,
    due=st.none() | _instants,
    breached_at=st.none() | _instants,
    resolved_at=st.none() | _instants,
    paused_at=st.none() | _instants,
    deleted=st.booleans(),
    minutes=st.none() | _floats,
    now=_instants,
)
def test_any_ticket_renders_as_the_serializer(
    title, description, status, created_at, due, breached_at, resolved_at, paused_at, deleted, minutes, now
):
    ticket = TicketFactory(
        client=ClientFactory(),
        title=title,
        description=description,
        status=status,
        created_at=created_at,
        sla_due_at=due,
        sla_breached_at=breached_at,
        resolved_at=resolved_at,
        sla_paused_at=paused_at,
        deleted_at=now if deleted else None,
        resolution_time_min=minutes,
    )
    ticket = Ticket.objects.get(pk=ticket.pk)  # as the database gives it back
    if _sql_rows([ticket], now) == [None]:  # left to Python: a float PostgreSQL writes otherwise
        assert abs(minutes) >= 1e15
    else:
        assert _sql_page([ticket], now) == _drf_page([ticket], now)


def test_a_serializer_without_a_sql_twin_keeps_the_python_rows():
    class NoTwin(TicketOutput):
        sql_methods = {"get_sla_breached": TicketOutput.sql_methods["get_sla_breached"]}

    assert SerializerRows(NoTwin).row_json_sql("t") is None
    assert TICKET_ROWS.row_json_sql("t") is not None


def test_a_zone_other_than_utc_keeps_the_python_rows():
    with timezone.override("Europe/Madrid"):
        assert TICKET_ROWS.row_json_sql("t") is None


@pytest.mark.parametrize("minutes", [1e15, -1e15, 1234567890123456.8, 3.092535278770144e18])
def test_a_page_with_a_float_postgresql_writes_otherwise_is_written_in_python(agent, minutes):
    # PostgreSQL writes 1e15 as "1e+15" (Python "1000000000000000.0") and some larger floats
    # with more digits; the app never stores such a resolution time, a data fix might.
    ticket = TicketFactory(resolution_time_min=minutes)
    with time_machine.travel(timezone.now(), tick=False):
        response = client_for(agent).get("/api/tickets")
        expected = _drf_page([Ticket.objects.get(pk=ticket.pk)], timezone.now())

    assert _sql_rows([ticket], timezone.now()) == [None]
    assert response.content == expected.replace(b'"pageSize":100', b'"pageSize":20')


def test_a_float_that_is_not_json_is_an_error_not_invalid_json(agent):
    ticket = TicketFactory()
    Ticket.objects.filter(pk=ticket.pk).update(resolution_time_min=float("nan"))
    client = client_for(agent)
    client.raise_request_exception = False

    response = client.get("/api/tickets")

    assert response.status_code == 500  # as DRF's renderer refuses it (STRICT_JSON)
    assert response.json()["code"] == "internal_error"


def test_an_indented_json_request_is_answered_as_drf_indents_it(agent):
    _every_state(agent)
    tickets = list(Ticket.objects.filter(deleted_at=None).order_by("-created_at", "-id"))
    with time_machine.travel(timezone.now(), tick=False):
        response = client_for(agent).get("/api/tickets?pageSize=100", HTTP_ACCEPT="application/json; indent=4")
        data = TicketOutput(tickets, many=True, context={"now": timezone.now()}).data
    expected = JSONRenderer().render(
        {"data": data, "total": len(tickets), "page": 1, "pageSize": 100}, "application/json; indent=4"
    )

    assert b"\n    " in response.content
    assert response.content == expected


def test_the_breached_filter_and_the_rows_flag_agree(agent):
    """Three forms of one rule: `sla.is_breached` (Python), the filter's Q objects
    (`tickets.selectors`) and the JSON's SQL twin. A row listed by `slaBreached=true` says so.
    (The filter relies on late resolutions being stamped, as `transition_apply` does: the
    states here are the ones the services make.)"""
    _every_state(agent)
    now = timezone.now()
    TicketFactory(created_at=now - timedelta(days=3))  # overdue, never swept
    client = client_for(agent)
    with time_machine.travel(now + timedelta(minutes=1), tick=False):
        flags = {
            value: {
                row["id"]: row["slaBreached"]
                for row in client.get(f"/api/tickets?pageSize=100&slaBreached={value}").json()["data"]
            }
            for value in ("true", "false")
        }

    assert set(flags["true"].values()) == {True} and set(flags["false"].values()) == {False}
    assert len(flags["true"]) >= 5 and len(flags["false"]) >= 5
    assert flags["true"].keys() | flags["false"].keys() == {
        str(pk) for pk in Ticket.objects.alive().values_list("pk", flat=True)
    }
