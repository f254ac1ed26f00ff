"""The list's statement reads indexes at a seeded size: no sequential scan, and each filter's
pages are found through its own index (on a vacuumed table, as in production, deep pages walk it
index-only). Plans, not timings: those are in benchmarks/api_throughput.py."""

import random
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from accounts.roles import Role
from techsupport import bounded_pages
from techsupport.bounded_pages import compile_branches, page_statement
from tests.accounts.factories import UserFactory
from tests.tickets.factories import ClientFactory
from tickets import selectors
from tickets.models import Ticket
from tickets.states import TicketStatus
from tickets.views import TICKET_ROWS

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

N = 6000


@pytest.fixture
def seeded():
    rng = random.Random(7)
    clients = [ClientFactory() for _ in range(40)]
    agents = [UserFactory(role=Role.AGENT) for _ in range(40)]
    now = timezone.now()
    tickets = []
    for n in range(N):
        client = rng.choice(clients)
        created = now - timedelta(hours=rng.randrange(24 * 365))
        closed = rng.random() < 0.85
        due = created + timedelta(hours=24)
        # As the SLA sweep leaves the table: a running ticket past due is stamped within a
        # minute, so few wait unstamped (here 5 % of them; the sweep being behind).
        stamped = (rng.random() < 0.35) if closed or due > now else (rng.random() < 0.95)
        tickets.append(
            Ticket(
                title=f"T{n}",
                description="seeded",
                client=client,
                client_type=client.type,
                status=TicketStatus.CLOSED if closed else TicketStatus.IN_PROGRESS,
                agent=rng.choice(agents),
                created_at=created,
                updated_at=created,
                sla_due_at=due,
                sla_warning_at=created + timedelta(hours=19.2),
                sla_breached_at=due if stamped else None,
            )
        )
    Ticket.objects.bulk_create(tickets)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE tickets_ticket")
    return {"agent": agents[0].pk, "client": clients[0].pk, "now": now}


def _plan(filters: dict, now, start: int) -> str:
    compiled = compile_branches(selectors.ticket_list_branches(now=now, **filters), TICKET_ROWS.columns)
    statement, params = page_statement(compiled, start, 20, 1000)
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {statement}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.parametrize(
    ("filters", "walk"),
    [
        ({"agent_id": "agent"}, "ticket_agent_live_idx"),
        ({"client_id": "client"}, "ticket_client_live_idx"),
        ({"sla_breached": True}, "ticket_live_breached_idx"),
        ({"status": TicketStatus.CLOSED}, "ticket_live_status_idx"),
    ],
)
def test_deep_pages_walk_an_index_and_never_scan_the_table(seeded, filters, walk):
    filters = {key: seeded[value] if value in ("agent", "client") else value for key, value in filters.items()}

    for start in (0, 500):  # page 26: deep, yet a small share of any filter here
        plan = _plan(filters, seeded["now"], start)
        assert "Seq Scan" not in plan, plan
        # Which scan of it depends on the visibility map (index-only once vacuumed, as in
        # benchmarks/api_throughput.py); the test's transaction cannot VACUUM.
        assert f" {walk} " in plan or plan.count(walk) >= 1, plan


def test_the_breached_list_reads_the_unswept_ones_by_due_time(seeded):
    plan = _plan({"sla_breached": True}, seeded["now"], 0)
    assert "ticket_live_unstamped_due_idx" in plan, plan


def test_the_breached_list_s_generic_plan_reads_the_unswept_ones_by_due_time(seeded):
    """Prepared with the instant as a parameter, PostgreSQL may keep a generic plan (after five
    executions, when it costs no more), planned without knowing how many tickets are due: the
    branch that holds the parameter must still be read through its partial index by due time,
    never by a scan that filters every row with it. (How the stamped branch is read depends on
    the table's size, as for any plan: at this seeded size a sequential scan of 6,000 rows may
    cost less; at 1M tickets it is the index walk, docs/benchmarks.md.)"""
    compiled = bounded_pages.CompiledLists().get(
        "breached",
        lambda now: selectors.ticket_list_branches(now=now, sla_breached=True),
        seeded["now"],
        TICKET_ROWS.columns,
    )
    inlined, clock = bounded_pages._inlined(connection, compiled, bounded_pages._page_from(compiled, 500, 20, 1000))
    statement = f"SELECT bounded.n, page.* FROM {inlined}".replace("%s", "$1").replace("%%", "%")  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        cursor.execute(f"PREPARE breached_generic(timestamptz) AS {statement}")
        cursor.execute("EXPLAIN EXECUTE breached_generic(now())")
        lines = [row[0] for row in cursor.fetchall()]
        cursor.execute("DEALLOCATE breached_generic")

    plan = "\n".join(lines)
    assert len(clock) == 2  # the unswept branch's due < now, in the count and in the page
    assert plan.count("Index Cond: (sla_due_at < $1)") == 2, plan
    assert plan.count("Bitmap Index Scan on ticket_live_unstamped_due_idx") == 2, plan
    assert not [line for line in lines if "Filter" in line and "$1" in line], plan
