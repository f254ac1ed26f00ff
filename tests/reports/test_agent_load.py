"""The agent-load report: open tickets per agent, counted in PostgreSQL in one grouped query
(tickets.selectors.agent_load_list), served as `GET /api/reports/agent-load` and on the dashboard."""

import csv
from datetime import UTC, datetime, timedelta

import pytest

from accounts.roles import Role
from accounts.services import supervisors_group_sync
from tests.accounts.factories import UserFactory
from tests.tickets.factories import ClientFactory, TicketFactory
from tickets.selectors import agent_load_list
from tickets.states import ClientType, TicketStatus

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
URL = "/api/reports/agent-load"


@pytest.fixture
def floor():
    """Ann: 3 open (one VIP, the oldest 150.5 minutes old) and finished or deleted ones that do
    not count; Bob: 1 open, on leave; Cid: none; Dan: inactive with 1 open; Eve: inactive with
    none (left out); a supervisor holding nothing (not an agent)."""
    ann = UserFactory(role=Role.AGENT, level=2, email="ann@example.com", name="Ann")
    bob = UserFactory(role=Role.AGENT, level=1, email="bob@example.com", name="", accepts_auto_assignment=False)
    cid = UserFactory(role=Role.AGENT, level=3, email="cid@example.com", name="Cid")
    dan = UserFactory(role=Role.AGENT, level=1, email="dan@example.com", name="Dan", is_active=False)
    UserFactory(role=Role.AGENT, level=1, email="eve@example.com", is_active=False)
    UserFactory(role=Role.SUPERVISOR, email="sup@example.com")
    vip = ClientFactory(type=ClientType.VIP)
    oldest = NOW - timedelta(minutes=150, seconds=30)
    TicketFactory(agent=ann, status=TicketStatus.ESCALATED, client=vip, created_at=oldest)
    TicketFactory(agent=ann, status=TicketStatus.OPEN, created_at=NOW - timedelta(minutes=10))
    TicketFactory(agent=ann, status=TicketStatus.IN_PROGRESS, created_at=NOW - timedelta(minutes=5))
    TicketFactory(agent=ann, status=TicketStatus.RESOLVED, created_at=NOW - timedelta(days=3))
    TicketFactory(agent=ann, status=TicketStatus.CLOSED, created_at=NOW - timedelta(days=4))
    TicketFactory(agent=ann, status=TicketStatus.OPEN, created_at=NOW - timedelta(days=5), deleted_at=NOW)
    TicketFactory(agent=bob, status=TicketStatus.OPEN, created_at=NOW - timedelta(minutes=59, seconds=59))
    TicketFactory(agent=dan, status=TicketStatus.IN_PROGRESS, created_at=NOW - timedelta(hours=30))
    TicketFactory(status=TicketStatus.OPEN)  # unassigned
    return {"ann": ann, "bob": bob, "cid": cid, "dan": dan, "oldest": oldest}


def _row(agent, *, open_tickets, oldest=None, age=None):
    return {
        "agent_id": agent.pk,
        "name": agent.name,
        "email": agent.email,
        "level": agent.level,
        "active": agent.is_active,
        "accepts_auto_assignment": agent.accepts_auto_assignment,
        "open_tickets": open_tickets,
        "oldest_open_created_at": oldest,
        "oldest_open_age_minutes": age,
    }


def test_open_work_per_agent_most_loaded_first(floor):
    dan_oldest = NOW - timedelta(hours=30)

    assert agent_load_list(now=NOW) == [
        _row(floor["ann"], open_tickets=3, oldest=floor["oldest"], age=150),
        _row(floor["dan"], open_tickets=1, oldest=dan_oldest, age=1800),
        _row(floor["bob"], open_tickets=1, oldest=NOW - timedelta(minutes=59, seconds=59), age=59),
        _row(floor["cid"], open_tickets=0),
    ]


def test_the_filters_narrow_the_tickets_counted(floor):
    vip = agent_load_list(now=NOW, client_type=ClientType.VIP)
    recent = agent_load_list(now=NOW, created_from=NOW - timedelta(minutes=30), created_to=NOW)

    assert [(row["email"], row["open_tickets"]) for row in vip] == [
        ("ann@example.com", 1),
        ("bob@example.com", 0),
        ("cid@example.com", 0),
    ]
    assert [(row["email"], row["open_tickets"], row["oldest_open_age_minutes"]) for row in recent] == [
        ("ann@example.com", 2, 10),
        ("bob@example.com", 0, None),
        ("cid@example.com", 0, None),
    ]


def test_the_selector_is_one_query_however_many_agents(django_assert_num_queries):
    for n in range(15):
        agent = UserFactory(role=Role.AGENT, email=f"load{n}@example.com")
        TicketFactory(agent=agent)

    with django_assert_num_queries(1):
        rows = agent_load_list(now=NOW)

    assert len(rows) == 15


def test_the_api_answers_in_a_constant_number_of_queries(supervisor_client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert supervisor_client.get(URL).status_code == 200
        return len(captured)

    UserFactory(role=Role.AGENT, email="first@example.com")
    few = queries()
    for n in range(10):
        TicketFactory(agent=UserFactory(role=Role.AGENT, email=f"more{n}@example.com"))

    assert queries() == few


def test_the_api_rows(admin_client, floor):
    response = admin_client.get(URL, {"clientType": "VIP"})

    assert response.status_code == 200
    first = response.json()["data"][0]
    age = first.pop("oldestOpenAgeMinutes")
    assert first == {
        "agentId": str(floor["ann"].pk),
        "name": "Ann",
        "email": "ann@example.com",
        "level": 2,
        "active": True,
        "acceptsAutoAssignment": True,
        "openTickets": 1,
        "oldestOpenCreatedAt": floor["oldest"].strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    }
    assert age >= 150  # the API's now is the wall clock
    assert [row["email"] for row in response.json()["data"]] == [
        "ann@example.com",
        "bob@example.com",
        "cid@example.com",
    ]


def test_the_csv_download(supervisor_client, floor):
    response = supervisor_client.get(URL, {"format": "csv"})

    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="agent-load.csv"'
    rows = list(csv.reader(response.content.decode().splitlines()))
    assert rows[0] == [
        "agentId",
        "name",
        "email",
        "level",
        "active",
        "acceptsAutoAssignment",
        "openTickets",
        "oldestOpenCreatedAt",
        "oldestOpenAgeMinutes",
    ]
    assert [(row[2], row[5], row[6]) for row in rows[1:]] == [
        ("ann@example.com", "True", "3"),
        ("dan@example.com", "True", "1"),
        ("bob@example.com", "False", "1"),
        ("cid@example.com", "True", "0"),
    ]


@pytest.mark.parametrize(("who", "status"), [("admin", 200), ("supervisor", 200), ("agent", 403), (None, 401)])
def test_roles(api_client, admin_client, supervisor_client, agent_client, who, status):
    client = {"admin": admin_client, "supervisor": supervisor_client, "agent": agent_client, None: api_client}[who]

    assert client.get(URL).status_code == status


def test_the_report_is_in_the_openapi_schema():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)

    operation = schema["paths"][URL]["get"]
    assert operation["operationId"] == "reports_agent_load"
    row = schema["components"]["schemas"]["AgentLoadRow"]
    assert set(row["properties"]) == {
        "agentId",
        "name",
        "email",
        "level",
        "active",
        "acceptsAutoAssignment",
        "openTickets",
        "oldestOpenCreatedAt",
        "oldestOpenAgeMinutes",
    }


def test_the_dashboard_shows_the_agents_load(client, supervisor, floor):
    supervisor.groups.add(supervisors_group_sync())
    client.force_login(supervisor)

    response = client.get("/admin/reports/dashboard/")

    assert [(row["email"], row["openTickets"]) for row in response.context["agent_load"]] == [
        ("ann@example.com", 3),
        ("dan@example.com", 1),
        ("bob@example.com", 1),
        ("cid@example.com", 0),
    ]
    assert b'id="rd-agent-load"' in response.content
    assert b"off (on leave)" in response.content
