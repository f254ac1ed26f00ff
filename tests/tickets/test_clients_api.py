import pytest

from tests.conftest import client_for
from tests.tickets.factories import ClientFactory, TicketFactory
from tickets.models import Client

pytestmark = pytest.mark.django_db

MISSING = "00000000-0000-0000-0000-000000000000"


def test_list_is_paginated_sorted_and_filtered(agent_client):
    ClientFactory(name="Bravo", type="VIP")
    ClientFactory(name="Alpha", type="NORMAL")
    ClientFactory(name="Charlie", type="VIP", company="Acme")

    body = agent_client.get("/api/clients?type=VIP").json()

    assert body["total"] == 2 and body["page"] == 1 and body["pageSize"] == 20
    assert [c["name"] for c in body["data"]] == ["Bravo", "Charlie"]
    assert [c["name"] for c in agent_client.get("/api/clients?q=acm").json()["data"]] == ["Charlie"]
    assert agent_client.get("/api/clients?page=2&pageSize=2").json()["data"][0]["name"] == "Charlie"


def test_client_json_shape(agent_client):
    client = ClientFactory(name="Globex", email="ops@globex.example", type="VIP", company="Globex")

    body = agent_client.get(f"/api/clients/{client.pk}").json()

    assert body == {
        "id": str(client.pk),
        "name": "Globex",
        "email": "ops@globex.example",
        "type": "VIP",
        "company": "Globex",
        "createdAt": client.created_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    }


@pytest.mark.parametrize("query", ["type=GOLD", "pageSize=101", "page=0", "pageSize=abc"])
def test_list_rejects_bad_query(agent_client, query):
    response = agent_client.get(f"/api/clients?{query}")

    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"


def test_retrieve_errors(agent_client):
    bad = agent_client.get("/api/clients/not-a-uuid")
    assert (bad.status_code, bad.json()["code"]) == (400, "invalid_id")
    missing = agent_client.get(f"/api/clients/{MISSING}")
    assert (missing.status_code, missing.json()["code"]) == (404, "client_not_found")


@pytest.mark.parametrize("role_client", ["admin_client", "supervisor_client"])
def test_admin_and_supervisor_create(request, role_client):
    api = request.getfixturevalue(role_client)

    response = api.post(
        "/api/clients", {"name": "Initech", "email": "IT@initech.example", "type": "VIP"}, format="json"
    )

    assert response.status_code == 201
    assert response.json()["email"] == "it@initech.example"
    assert response.json()["company"] == ""
    assert Client.objects.get(pk=response.json()["id"]).type == "VIP"


def test_create_validation_and_duplicate(supervisor_client):
    bad = supervisor_client.post("/api/clients", {"name": "X", "email": "nope", "type": "GOLD"}, format="json")
    assert bad.status_code == 400
    assert set(bad.json()["details"]) == {"email", "type"}

    ClientFactory(email="taken@example.com")
    dup = supervisor_client.post(
        "/api/clients", {"name": "Y", "email": "TAKEN@example.com", "type": "VIP"}, format="json"
    )
    assert (dup.status_code, dup.json()["code"]) == (409, "client_email_taken")


def test_update(supervisor_client):
    client = ClientFactory(type="NORMAL")
    ticket = TicketFactory(client=client)

    response = supervisor_client.patch(f"/api/clients/{client.pk}", {"type": "VIP", "company": "New"}, format="json")

    assert response.status_code == 200
    assert (response.json()["type"], response.json()["company"]) == ("VIP", "New")
    # the tier moves with the client; the due time given at creation stays
    assert supervisor_client.get(f"/api/tickets/{ticket.pk}").json()["clientType"] == "VIP"
    assert supervisor_client.get("/api/tickets?clientType=VIP").json()["total"] == 1
    assert supervisor_client.patch(f"/api/clients/{client.pk}", {}, format="json").status_code == 400
    assert supervisor_client.patch(f"/api/clients/{MISSING}", {"name": "Z"}, format="json").status_code == 404


def test_agents_cannot_write_and_anonymous_cannot_read(agent_client, api_client):
    client = ClientFactory()

    assert (
        agent_client.post("/api/clients", {"name": "A", "email": "a@b.co", "type": "VIP"}, format="json").status_code
        == 403
    )
    assert agent_client.patch(f"/api/clients/{client.pk}", {"name": "B"}, format="json").status_code == 403
    anonymous = api_client.get("/api/clients")
    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "not_authenticated")


def test_list_query_count_is_constant(agent, django_assert_max_num_queries):
    api = client_for(agent)
    ClientFactory.create_batch(30)
    # user + count + page
    with django_assert_max_num_queries(3):
        assert api.get("/api/clients?pageSize=100").status_code == 200
