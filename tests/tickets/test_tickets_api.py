from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from accounts.roles import Role
from tests.accounts.factories import UserFactory
from tests.conftest import client_for
from tests.tickets.factories import ClientFactory, TicketFactory
from tickets import services
from tickets.models import Ticket

pytestmark = pytest.mark.django_db

MISSING = "00000000-0000-0000-0000-000000000000"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# --- create ------------------------------------------------------------------------------
def test_create_returns_the_full_ticket(agent):
    client = ClientFactory(type="VIP")

    with time_machine.travel(T0, tick=False):
        agent_client = client_for(agent)  # a token issued at the travelled-to instant
        response = agent_client.post(
            "/api/tickets", {"title": "VPN down", "description": "Since 9am", "clientId": str(client.pk)}, format="json"
        )

    assert response.status_code == 201
    body = response.json()
    assert body == {
        "id": body["id"],
        "title": "VPN down",
        "description": "Since 9am",
        "status": "OPEN",
        "priority": 3,
        "clientId": str(client.pk),
        "clientType": "VIP",
        "agentId": None,
        "escalationLevel": 0,
        "createdAt": _iso(T0),
        "updatedAt": _iso(T0),
        "resolvedAt": None,
        "resolutionTimeMin": None,
        "slaDueAt": _iso(T0 + timedelta(hours=2)),
        "slaBreached": False,
        "slaRemainingMinutes": 120,
        "firstResponseDueAt": _iso(T0 + timedelta(minutes=15)),
        "firstRespondedAt": None,
        "version": 1,
    }
    assert response["ETag"] == '"1"'
    events = client_for(agent).get(f"/api/tickets/{body['id']}/events").json()["data"]
    assert [(e["kind"], e["actorId"], e["toStatus"]) for e in events] == [("created", str(agent.pk), "OPEN")]


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        ({"title": "ab", "description": "long enough"}, {"title"}),
        ({"title": "long enough", "description": "ab"}, {"description"}),
        ({"title": "ok!", "description": "ok!", "priority": 0}, {"priority"}),
        ({"title": "ok!", "description": "ok!", "priority": 6}, {"priority"}),
        ({"title": "ok!", "description": "ok!", "clientId": "nope"}, {"clientId"}),
        ({}, {"title", "description", "clientId"}),
    ],
)
def test_create_validation(agent_client, payload, fields):
    client = ClientFactory()
    body = {"clientId": str(client.pk), **payload} if payload else {}

    response = agent_client.post("/api/tickets", body, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert set(response.json()["details"]) == fields


def test_create_with_unknown_client_is_400(agent_client):
    response = agent_client.post(
        "/api/tickets", {"title": "abc", "description": "abc", "clientId": MISSING}, format="json"
    )

    assert (response.status_code, response.json()["code"]) == (400, "unknown_client")
    assert response.json()["details"] == {"clientId": "No client has this id."}


def test_anonymous_is_401_everywhere(api_client):
    ticket = TicketFactory()
    for method, path in [
        ("get", "/api/tickets"),
        ("post", "/api/tickets"),
        ("get", f"/api/tickets/{ticket.pk}"),
        ("get", f"/api/tickets/{ticket.pk}/events"),
        ("patch", f"/api/tickets/{ticket.pk}/status"),
        ("patch", f"/api/tickets/{ticket.pk}/assign"),
        ("delete", f"/api/tickets/{ticket.pk}"),
    ]:
        response = getattr(api_client, method)(path)
        assert (response.status_code, response.json()["code"]) == (401, "not_authenticated"), path


# --- list and filters --------------------------------------------------------------------
def test_list_newest_first_with_pagination(agent_client):
    tickets = [TicketFactory(created_at=T0 + timedelta(minutes=n)) for n in range(5)]

    body = agent_client.get("/api/tickets?page=2&pageSize=2").json()

    assert (body["total"], body["page"], body["pageSize"]) == (5, 2, 2)
    assert [t["id"] for t in body["data"]] == [str(tickets[2].pk), str(tickets[1].pk)]


def test_list_filters(agent_client):
    vip = ClientFactory(type="VIP")
    agent = UserFactory(role=Role.AGENT)
    a = TicketFactory(client=vip, priority=1, created_at=T0, agent=agent)
    b = TicketFactory(status="IN_PROGRESS", priority=2, created_at=T0 + timedelta(days=1))
    c = TicketFactory(status="IN_PROGRESS", client=vip, priority=1, created_at=T0 + timedelta(days=2))

    def ids(query):
        response = agent_client.get(f"/api/tickets?{query}")
        assert response.status_code == 200, response.json()
        return {t["id"] for t in response.json()["data"]}

    assert ids("status=IN_PROGRESS") == {str(b.pk), str(c.pk)}
    assert ids("priority=1") == {str(a.pk), str(c.pk)}
    assert ids(f"clientId={vip.pk}") == {str(a.pk), str(c.pk)}
    assert ids("clientType=NORMAL") == {str(b.pk)}
    assert ids(f"agentId={agent.pk}") == {str(a.pk)}
    assert ids("from=2026-03-03&to=2026-03-03") == {str(b.pk)}
    assert ids("from=2026-03-03T09:00:00Z") == {str(b.pk), str(c.pk)}
    assert ids("to=2026-03-02") == {str(a.pk)}
    assert ids("status=IN_PROGRESS&clientType=VIP") == {str(c.pk)}


def test_sla_breached_filter_and_fields(agent_client):
    now = datetime.now(UTC)
    overdue = TicketFactory(created_at=now - timedelta(hours=30))
    fresh = TicketFactory(created_at=now)
    resolved_late = TicketFactory(
        status="RESOLVED", created_at=now - timedelta(hours=30), sla_breached_at=now - timedelta(hours=6)
    )
    resolved_in_time = TicketFactory(status="CLOSED", created_at=now - timedelta(hours=30), sla_next_check_at=None)

    breached = agent_client.get("/api/tickets?slaBreached=true").json()["data"]
    within = agent_client.get("/api/tickets?slaBreached=false").json()["data"]

    assert {t["id"] for t in breached} == {str(overdue.pk), str(resolved_late.pk)}
    assert {t["id"] for t in within} == {str(fresh.pk), str(resolved_in_time.pk)}
    by_id = {t["id"]: t for t in breached + within}
    assert by_id[str(overdue.pk)]["slaRemainingMinutes"] in (-361, -360)
    assert by_id[str(fresh.pk)]["slaRemainingMinutes"] in (1439, 1440)
    assert by_id[str(resolved_late.pk)]["slaRemainingMinutes"] is None
    assert by_id[str(resolved_in_time.pk)]["slaBreached"] is False


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=DONE", "status"),
        ("priority=9", "priority"),
        ("priority=x", "priority"),
        ("clientId=not-a-uuid", "clientId"),
        ("clientType=GOLD", "clientType"),
        ("agentId=123", "agentId"),
        ("slaBreached=maybe", "slaBreached"),
        ("from=yesterday", "from"),
        ("to=2026-13-01", "to"),
        ("from=2026-03-05&to=2026-03-01", "from"),
        ("pageSize=101", "pageSize"),
        ("page=0", "page"),
    ],
)
def test_list_rejects_bad_filters(agent_client, query, field):
    response = agent_client.get(f"/api/tickets?{query}")

    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert field in response.json()["details"]


def test_list_query_count_is_constant(agent, django_assert_num_queries):
    api = client_for(agent)
    TicketFactory.create_batch(25)
    # The user's auth state (not cached yet: the test's transaction never commits) + one
    # statement for the count and the page (techsupport/bounded_pages.py).
    with django_assert_num_queries(2):
        assert len(api.get("/api/tickets?pageSize=100").json()["data"]) == 25


def test_events_query_count_is_constant(supervisor, django_assert_num_queries):
    ticket = TicketFactory()
    for _ in range(3):
        services.ticket_change_status(ticket=ticket, to_status="ESCALATED", actor=supervisor)
        services.ticket_change_status(ticket=ticket, to_status="IN_PROGRESS", actor=supervisor)
    api = client_for(supervisor)
    # user + ticket + count + page (actor joined)
    with django_assert_num_queries(4):
        assert api.get(f"/api/tickets/{ticket.pk}/events").json()["total"] == 6


# --- retrieve, events --------------------------------------------------------------------
def test_retrieve_errors(agent_client):
    bad = agent_client.get("/api/tickets/123")
    assert (bad.status_code, bad.json()["code"]) == (400, "invalid_id")
    missing = agent_client.get(f"/api/tickets/{MISSING}")
    assert (missing.status_code, missing.json()["code"]) == (404, "ticket_not_found")
    assert agent_client.get(f"/api/tickets/{MISSING}/events").status_code == 404
    assert agent_client.get("/api/tickets/xyz/events").status_code == 400


def test_events_are_the_audit_trail_oldest_first(supervisor_client, supervisor, agent):
    ticket = TicketFactory()
    supervisor_client.patch(f"/api/tickets/{ticket.pk}/assign", {"agentId": str(agent.pk)}, format="json")
    supervisor_client.patch(f"/api/tickets/{ticket.pk}/status", {"status": "IN_PROGRESS"}, format="json")

    events = supervisor_client.get(f"/api/tickets/{ticket.pk}/events").json()["data"]

    assert [(e["kind"], e["fromStatus"], e["toStatus"], e["actorEmail"]) for e in events] == [
        ("assigned", "OPEN", "OPEN", supervisor.email),
        ("status_changed", "OPEN", "IN_PROGRESS", supervisor.email),
    ]
    assert events[0]["data"] == {"fromAgentId": None, "toAgentId": str(agent.pk)}
    assert set(events[0]) == {
        "id", "ticketId", "kind", "actorId", "actorEmail", "fromStatus", "toStatus", "data", "createdAt"
    }  # fmt: skip


# --- status ------------------------------------------------------------------------------
def test_status_change_resolve_sets_resolution(supervisor):
    ticket = TicketFactory(status="IN_PROGRESS", created_at=T0)

    with time_machine.travel(T0 + timedelta(minutes=45), tick=False):
        response = client_for(supervisor).patch(
            f"/api/tickets/{ticket.pk}/status", {"status": "RESOLVED"}, format="json"
        )

    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["resolvedAt"], body["resolutionTimeMin"]) == (
        "RESOLVED",
        _iso(T0 + timedelta(minutes=45)),
        45.0,
    )
    assert (body["slaRemainingMinutes"], body["slaBreached"]) == (None, False)


def test_status_change_escalate_raises_level(supervisor_client):
    ticket = TicketFactory()

    body = supervisor_client.patch(f"/api/tickets/{ticket.pk}/status", {"status": "ESCALATED"}, format="json").json()

    assert (body["status"], body["escalationLevel"]) == ("ESCALATED", 1)


def test_illegal_transition_is_409_with_allowed(supervisor_client):
    ticket = TicketFactory()

    response = supervisor_client.patch(f"/api/tickets/{ticket.pk}/status", {"status": "CLOSED"}, format="json")

    assert response.status_code == 409
    assert response.json() == {
        "message": "A ticket cannot go from OPEN to CLOSED.",
        "code": "invalid_transition",
        "details": {
            "from": "OPEN",
            "to": "CLOSED",
            "allowed": ["IN_PROGRESS", "ESCALATED"],
            "status": "OPEN",
            "version": 1,
        },
    }


def test_status_validation_and_missing(supervisor_client):
    ticket = TicketFactory()
    assert (
        supervisor_client.patch(f"/api/tickets/{ticket.pk}/status", {"status": "DONE"}, format="json").status_code
        == 400
    )
    assert supervisor_client.patch(f"/api/tickets/{ticket.pk}/status", {}, format="json").status_code == 400
    assert (
        supervisor_client.patch(f"/api/tickets/{MISSING}/status", {"status": "CLOSED"}, format="json").status_code
        == 404
    )
    assert supervisor_client.patch("/api/tickets/x/status", {"status": "CLOSED"}, format="json").status_code == 400


def test_agent_changes_status_only_of_own_tickets(agent_client, agent):
    mine = TicketFactory(agent=agent)
    unassigned = TicketFactory()

    assert (
        agent_client.patch(f"/api/tickets/{mine.pk}/status", {"status": "IN_PROGRESS"}, format="json").status_code
        == 200
    )
    refused = agent_client.patch(f"/api/tickets/{unassigned.pk}/status", {"status": "IN_PROGRESS"}, format="json")
    assert (refused.status_code, refused.json()["code"]) == (403, "not_assigned")


# --- assign ------------------------------------------------------------------------------
def test_assign(supervisor_client, agent):
    ticket = TicketFactory()

    response = supervisor_client.patch(f"/api/tickets/{ticket.pk}/assign", {"agentId": str(agent.pk)}, format="json")

    assert response.status_code == 200
    assert response.json()["agentId"] == str(agent.pk)


def test_assign_errors(supervisor_client, admin_client, agent_client, agent):
    ticket = TicketFactory(status="ESCALATED", escalation_level=1)
    inactive = UserFactory(role=Role.AGENT, is_active=False, level=3)
    supervisor_user = UserFactory(role=Role.SUPERVISOR)
    url = f"/api/tickets/{ticket.pk}/assign"

    def call(api, agent_id):
        return api.patch(url, {"agentId": str(agent_id)}, format="json")

    assert (call(supervisor_client, agent.pk).status_code, call(supervisor_client, agent.pk).json()["code"]) == (
        422,
        "agent_level_too_low",
    )
    assert call(admin_client, inactive.pk).json()["code"] == "invalid_agent"
    assert call(admin_client, supervisor_user.pk).json()["code"] == "invalid_agent"
    assert call(admin_client, MISSING).status_code == 422
    assert call(admin_client, "not-a-uuid").status_code == 400
    assert supervisor_client.patch(url, {}, format="json").status_code == 400
    assert call(agent_client, agent.pk).status_code == 403
    assert (
        supervisor_client.patch(f"/api/tickets/{MISSING}/assign", {"agentId": str(agent.pk)}, format="json").status_code
        == 404
    )


def test_assign_ignores_a_level_in_the_request(supervisor_client, agent):
    ticket = TicketFactory(status="ESCALATED", escalation_level=1)

    response = supervisor_client.patch(
        f"/api/tickets/{ticket.pk}/assign", {"agentId": str(agent.pk), "level": 3}, format="json"
    )

    assert response.json()["code"] == "agent_level_too_low"


# --- delete ------------------------------------------------------------------------------
@pytest.mark.parametrize("role_client", ["admin_client", "supervisor_client"])
def test_soft_delete(request, role_client, agent_client):
    api = request.getfixturevalue(role_client)
    ticket = TicketFactory()

    assert api.delete(f"/api/tickets/{ticket.pk}").status_code == 204

    assert api.get(f"/api/tickets/{ticket.pk}").status_code == 404
    assert api.delete(f"/api/tickets/{ticket.pk}").status_code == 404
    assert api.get("/api/tickets").json()["total"] == 0
    assert agent_client.get(f"/api/tickets/{ticket.pk}/events").status_code == 404
    assert Ticket.objects.get(pk=ticket.pk).deleted_at is not None


def test_agents_cannot_delete(agent_client):
    ticket = TicketFactory()

    response = agent_client.delete(f"/api/tickets/{ticket.pk}")

    assert (response.status_code, response.json()["code"]) == (403, "forbidden")


def test_method_not_allowed_is_json(supervisor_client):
    response = supervisor_client.put("/api/tickets", {}, format="json")

    assert (response.status_code, response.json()["code"]) == (405, "method_not_allowed")


def test_openapi_schema_documents_the_ticket_endpoints(admin_client):
    response = admin_client.get("/api/schema?format=json")

    assert response.status_code == 200
    paths = response.json()["paths"]
    assert {"/api/tickets", "/api/tickets/{ticket_id}/status", "/api/clients"} <= set(paths)
    list_params = {p["name"] for p in paths["/api/tickets"]["get"]["parameters"]}
    assert {"status", "clientId", "from", "to", "slaBreached", "page", "pageSize"} <= list_params


def test_list_rejects_a_page_beyond_any_offset(agent_client):
    # An offset past the database's integer range was a 500 (DataError / OverflowError).
    response = agent_client.get("/api/tickets", {"page": str(10**19)})

    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert set(response.json()["details"]) == {"page"}


def test_a_soft_deleted_ticket_cannot_be_changed_or_assigned(supervisor_client, agent):
    ticket = TicketFactory(deleted_at=T0)

    status = supervisor_client.patch(f"/api/tickets/{ticket.pk}/status", {"status": "IN_PROGRESS"}, format="json")
    assign = supervisor_client.patch(f"/api/tickets/{ticket.pk}/assign", {"agentId": str(agent.pk)}, format="json")

    assert (status.status_code, status.json()["code"]) == (404, "ticket_not_found")
    assert (assign.status_code, assign.json()["code"]) == (404, "ticket_not_found")
    row = Ticket.objects.get(pk=ticket.pk)
    assert (row.status, row.agent_id) == ("OPEN", None)
