"""A list page goes as a prepared statement of the session from its second request on
(techsupport/bounded_pages.py `_prepared_cursor`): planned once, not on every request. Its
values are inlined, but the request's instant (`slaBreached`: `sla_due_at < now`; the rows'
remaining minutes) is a parameter, so the text is the same on every request. Only this cursor
prepares: Django's other statements stay unprepared. A plan the session lost (a column's type
changed by a migration in another session) costs no failed request."""

import dataclasses
from datetime import timedelta

import psycopg
import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from techsupport import bounded_pages
from tests.tickets.factories import ClientFactory, TicketFactory
from tickets.models import Ticket
from tickets.states import TicketStatus

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def _prepared() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements WHERE from_sql = false")
        return [row[0] for row in cursor.fetchall()]


def _list_statements() -> list[str]:
    return [text for text in _prepared() if text.startswith("SELECT bounded.n")]


# A client of its own per test keeps the statements' texts apart (a test's rollback also makes
# psycopg deallocate the session's statements).
def test_a_filter_without_the_clock_is_prepared_once_and_reused(supervisor_client):
    client = ClientFactory()
    tickets = [TicketFactory(client=client) for _ in range(3)]
    before = len(_list_statements())

    bodies = [supervisor_client.get(f"/api/tickets?status=OPEN&clientId={client.pk}").json() for _ in range(3)]

    statements = _list_statements()
    assert len(statements) == before + 1
    # The values are inlined: the plan is for exactly them.
    assert len([text for text in statements if f"'{client.pk.hex}'::uuid" in text]) == 1
    expected = [str(t.pk) for t in sorted(tickets, key=lambda t: (t.created_at, t.pk), reverse=True)]
    assert all([row["id"] for row in body["data"]] == expected for body in bodies)
    assert all(body["total"] == 3 for body in bodies)


def test_each_page_is_its_own_statement_and_sees_new_rows(supervisor_client):
    client = ClientFactory()
    url = f"/api/tickets?clientId={client.pk}&pageSize=1&page="
    TicketFactory(client=client)
    for _ in range(2):
        first, second = supervisor_client.get(url + "1").json(), supervisor_client.get(url + "2").json()
    assert (first["total"], len(first["data"]), len(second["data"])) == (1, 1, 0)

    TicketFactory(client=client)  # a prepared statement keeps its plan, not its rows
    again = supervisor_client.get(url + "2").json()

    assert (again["total"], len(again["data"])) == (2, 1)
    assert len([text for text in _list_statements() if client.pk.hex in text]) == 2


def test_a_page_asked_for_once_is_not_prepared(supervisor_client):
    client = ClientFactory()

    assert supervisor_client.get(f"/api/tickets?clientId={client.pk}").status_code == 200

    assert not [text for text in _list_statements() if client.pk.hex in text]
    assert connection.connection.prepare_threshold is None  # Django's setting, given back


def test_a_session_keeps_a_bounded_number_of_list_statements(supervisor_client):
    client = ClientFactory()
    for page in range(1, bounded_pages.PREPARED_PER_SESSION + 6):
        for _ in range(2):
            supervisor_client.get(f"/api/tickets?clientId={client.pk}&page={page}")

    kept = [text for text in _list_statements() if client.pk.hex in text]
    # psycopg deallocates the oldest with the session's next statement: one over at most.
    assert bounded_pages.PREPARED_PER_SESSION <= len(kept) <= bounded_pages.PREPARED_PER_SESSION + 1


def test_the_breached_list_is_prepared_with_the_instant_as_its_parameter(supervisor_client):
    client = ClientFactory()
    ticket = TicketFactory(client=client, sla_due_at=timezone.now() + timedelta(minutes=1))
    url = f"/api/tickets?slaBreached=true&clientId={client.pk}"

    before = [supervisor_client.get(url).json()["total"] for _ in range(2)]  # prepared by the second
    with time_machine.travel(ticket.sla_due_at + timedelta(seconds=1), tick=False):
        after = supervisor_client.get(url).json()

    statements = [text for text in _list_statements() if client.pk.hex in text]
    assert len(statements) == 1
    # The filter's values are inlined; the instant (not yet swept: due < now) is a parameter.
    assert 'sla_due_at" < $' in statements[0]
    assert before == [0, 0]
    assert (after["total"], [row["id"] for row in after["data"]]) == (1, [str(ticket.pk)])
    assert after["data"][0]["slaBreached"] is True


def test_other_statements_of_the_session_are_not_prepared(supervisor_client):
    supervisor_client.get("/api/tickets?status=OPEN")
    before = _prepared()

    for _ in range(3):
        list(Ticket.objects.filter(status=TicketStatus.OPEN))

    assert _prepared() == before


def test_the_breached_list_is_compiled_once_and_given_each_request_s_instant(supervisor_client, monkeypatch):
    client = ClientFactory()
    ticket = TicketFactory(client=client, sla_due_at=timezone.now() + timedelta(minutes=1))
    compiled = []
    compile_branches = bounded_pages.compile_branches
    monkeypatch.setattr(bounded_pages, "compile_branches", lambda *a: compiled.append(1) or compile_branches(*a))
    url = f"/api/tickets?slaBreached=true&clientId={client.pk}"

    before = supervisor_client.get(url).json()
    with time_machine.travel(ticket.sla_due_at + timedelta(seconds=1), tick=False):
        after = supervisor_client.get(url).json()

    assert before["total"] == 0
    assert (after["total"], [row["id"] for row in after["data"]]) == (1, [str(ticket.pk)])
    assert len(compiled) == 2  # the first request's check (two instants); the second compiles nothing


def test_the_clock_is_only_a_parameter_holding_the_instant_itself():
    class Branches:
        def __init__(self, shift):
            self.shift = shift

    now = timezone.now()
    later = now + timedelta(seconds=1)
    base = bounded_pages.CompiledBranches("h", "o", "pk", lambda limit: "ids", "ids", (), "default")

    def at(*params):
        return dataclasses.replace(base, params=params)

    assert bounded_pages._clock_positions(at("x", now), at("x", later), now, later) == (1,)
    assert bounded_pages._clock_positions(at("x", now), at("x", now), now, later) == ()
    three_days = timedelta(days=3)  # derived from the instant, not the instant: compiled each time
    assert bounded_pages._clock_positions(at(now - three_days), at(later - three_days), now, later) is None
    other_text = dataclasses.replace(at(later), ids_template="other")
    assert bounded_pages._clock_positions(at(now), other_text, now, later) is None


@pytest.mark.django_db(transaction=True)
def test_a_column_type_changed_by_another_session_costs_no_failed_request(supervisor_client):
    client = ClientFactory()
    TicketFactory(client=client)
    url = f"/api/tickets?clientId={client.pk}"
    assert [supervisor_client.get(url).status_code for _ in range(2)] == [200, 200]  # now prepared
    assert [text for text in _list_statements() if client.pk.hex in text]

    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as other:
        other.execute("ALTER TABLE tickets_ticket ALTER COLUMN title TYPE varchar(300)")
        try:
            statuses = [supervisor_client.get(url).status_code for _ in range(3)]
        finally:
            other.execute("ALTER TABLE tickets_ticket ALTER COLUMN title TYPE varchar(200)")

    assert statuses == [200, 200, 200]


def test_inlined_values_keep_their_percent_signs_and_the_instants_stay_parameters():
    now = timezone.now()
    base = bounded_pages.CompiledBranches("h", "o", "pk", lambda limit: "ids", "ids", (), "default")
    compiled = dataclasses.replace(base, params=("50%", now, ["a", "b"]), clock_at=(1,))
    connection.ensure_connection()

    # The FROM's values are the params twice (the count's and the page's).
    text, clock = bounded_pages._inlined(connection, compiled, "SELECT %s, %s, %s, %s, %s, %s, '%%'")

    assert clock == (1, 4)
    with connection.cursor() as cursor:
        cursor.execute(text, [now, now])
        # (an untyped array literal reads back as its text; in a list statement a column types it)
        assert cursor.fetchone() == ("50%", now, "{a,b}", "50%", now, "{a,b}", "%")


def test_values_that_compare_equal_but_read_differently_are_kept_apart():
    base = bounded_pages.CompiledBranches("h", "o", "pk", lambda limit: "ids", "ids", (), "default")
    connection.ensure_connection()
    texts = [
        bounded_pages._inlined(connection, dataclasses.replace(base, params=(value,)), "SELECT %s, %s")[0]
        for value in (1, True, 1.0)
    ]
    assert len(set(texts)) == 3, texts
