"""Optimistic concurrency on tickets: `version` in the JSON and as ETag, `If-Match` and
`expectedStatus` on the changes, and every write moving the version on."""

from datetime import timedelta

import pytest
from django.db import connection, transaction

from techsupport.exceptions import AppError
from tests.accounts.factories import UserFactory
from tests.tickets.factories import ClientFactory, TicketFactory
from tickets import services
from tickets.models import Ticket, TicketEvent
from tickets.sweep import sla_sweep

pytestmark = pytest.mark.django_db


def _patch_status(api, ticket, status, **headers_and_body):
    body = {"status": status, **headers_and_body.pop("body", {})}
    return api.patch(f"/api/tickets/{ticket.pk}/status", body, format="json", headers=headers_and_body or None)


def test_every_ticket_response_carries_the_version_and_its_etag(supervisor_client):
    ticket = TicketFactory()

    read = supervisor_client.get(f"/api/tickets/{ticket.pk}")
    changed = _patch_status(supervisor_client, ticket, "IN_PROGRESS")
    assigned = supervisor_client.patch(
        f"/api/tickets/{ticket.pk}/assign", {"agentId": str(UserFactory(role="AGENT").pk)}, format="json"
    )

    assert (read.json()["version"], read["ETag"]) == (1, '"1"')
    assert (changed.json()["version"], changed["ETag"]) == (2, '"2"')
    assert (assigned.json()["version"], assigned["ETag"]) == (3, '"3"')
    listed = supervisor_client.get("/api/tickets").json()["data"]
    assert [row["version"] for row in listed] == [3]


def test_a_change_with_the_current_etag_applies(supervisor_client):
    ticket = TicketFactory()

    response = _patch_status(supervisor_client, ticket, "IN_PROGRESS", **{"If-Match": '"1"'})

    assert (response.status_code, response.json()["status"], response["ETag"]) == (200, "IN_PROGRESS", '"2"')


def test_a_change_based_on_an_old_version_is_409_with_the_current_state(supervisor_client):
    ticket = TicketFactory()
    services.ticket_change_status(ticket=ticket, to_status="IN_PROGRESS", actor=None)

    response = _patch_status(supervisor_client, ticket, "ESCALATED", **{"If-Match": '"1"'})

    assert response.status_code == 409
    assert response.json() == {
        "message": "The ticket has changed since you read it; reload it and decide again.",
        "code": "concurrent_update",
        "details": {"status": "IN_PROGRESS", "version": 2, "expectedVersion": 1, "expectedStatus": None},
    }
    assert Ticket.objects.get(pk=ticket.pk).status == "IN_PROGRESS"
    assert TicketEvent.objects.filter(ticket=ticket).count() == 1


def test_a_change_based_on_an_old_status_is_409(supervisor_client):
    ticket = TicketFactory()
    services.ticket_change_status(ticket=ticket, to_status="ESCALATED", actor=None)

    response = _patch_status(supervisor_client, ticket, "IN_PROGRESS", body={"expectedStatus": "OPEN"})

    assert response.status_code == 409
    assert response.json()["code"] == "concurrent_update"
    assert response.json()["details"] == {
        "status": "ESCALATED",
        "version": 2,
        "expectedVersion": None,
        "expectedStatus": "OPEN",
    }
    assert Ticket.objects.get(pk=ticket.pk).status == "ESCALATED"


def test_a_stale_change_that_the_table_forbids_anyway_is_409_invalid_transition(supervisor_client):
    ticket = TicketFactory()
    services.ticket_change_status(ticket=ticket, to_status="IN_PROGRESS", actor=None)

    response = _patch_status(supervisor_client, ticket, "IN_PROGRESS", **{"If-Match": '"1"'})

    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"
    assert response.json()["details"] == {
        "from": "IN_PROGRESS",
        "to": "IN_PROGRESS",
        "allowed": ["RESOLVED", "ESCALATED", "WAITING_CUSTOMER"],
        "status": "IN_PROGRESS",
        "version": 2,
    }


def test_if_match_star_or_absent_means_no_precondition(supervisor_client):
    ticket = TicketFactory()
    services.ticket_update(ticket=ticket, actor=None, title="Renamed")

    assert _patch_status(supervisor_client, ticket, "IN_PROGRESS", **{"If-Match": "*"}).status_code == 200
    assert _patch_status(supervisor_client, ticket, "RESOLVED").status_code == 200


@pytest.mark.parametrize("value", ["1", 'W/"1"', '"abc"', '"1", "2"', '""', '"99999999999"', "\u00e9"])
def test_an_if_match_the_server_cannot_evaluate_is_400(supervisor_client, value):
    ticket = TicketFactory()

    response = _patch_status(supervisor_client, ticket, "IN_PROGRESS", **{"If-Match": value})

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_precondition"
    assert list(response.json()["details"]) == ["If-Match"]
    assert Ticket.objects.get(pk=ticket.pk).status == "OPEN"


def test_assign_and_delete_honour_if_match(supervisor_client):
    ticket = TicketFactory()
    agent = UserFactory(role="AGENT")
    services.ticket_update(ticket=ticket, actor=None, priority=1)  # version 2

    stale_assign = supervisor_client.patch(
        f"/api/tickets/{ticket.pk}/assign", {"agentId": str(agent.pk)}, format="json", headers={"If-Match": '"1"'}
    )
    stale_delete = supervisor_client.delete(f"/api/tickets/{ticket.pk}", headers={"If-Match": '"1"'})
    delete = supervisor_client.delete(f"/api/tickets/{ticket.pk}", headers={"If-Match": '"2"'})

    assert (stale_assign.status_code, stale_assign.json()["code"]) == (409, "concurrent_update")
    assert (stale_delete.status_code, stale_delete.json()["details"]["version"]) == (409, 2)
    assert delete.status_code == 204
    ticket = Ticket.objects.get(pk=ticket.pk)
    assert (ticket.agent_id, ticket.deleted_at is not None, ticket.version) == (None, True, 3)


def test_every_write_moves_the_version_on(supervisor, desk):
    vip = ClientFactory(type="VIP")
    ticket = services.ticket_create(title="Down", description="All down", client=vip, actor=None)
    versions = [ticket.version]
    steps = [
        lambda: services.ticket_update(ticket=ticket, actor=supervisor, title="Still down"),
        lambda: services.ticket_assign(ticket=ticket, agent_id=desk.agent2.pk, actor=supervisor),
        lambda: services.ticket_change_status(ticket=ticket, to_status="IN_PROGRESS", actor=supervisor),
        lambda: sla_sweep(now=ticket.sla_due_at + timedelta(seconds=1)),  # escalates (VIP breach)
        lambda: services.client_update(client=vip, type="NORMAL"),
        lambda: services.ticket_soft_delete(ticket=ticket, actor=supervisor),
    ]
    for step in steps:
        step()
        versions.append(Ticket.objects.get(pk=ticket.pk).version)

    assert versions == [1, 2, 3, 4, 5, 6, 7]
    assert Ticket.objects.get(pk=ticket.pk).status == "ESCALATED"


def test_an_unchanged_update_and_a_warning_leave_the_version(supervisor):
    ticket = TicketFactory(title="Same")

    services.ticket_update(ticket=ticket, actor=supervisor, title="Same")
    sla_sweep(now=ticket.sla_next_check_at)  # the warning: nothing on the ticket changes

    assert TicketEvent.objects.filter(ticket=ticket, kind="sla_warning").count() == 1
    assert Ticket.objects.get(pk=ticket.pk).version == 1


def test_the_sweep_moves_a_stale_client_to_409(supervisor_client):
    ticket = TicketFactory(client=ClientFactory(type="VIP"))
    sla_sweep(now=ticket.sla_due_at + timedelta(seconds=1))

    response = _patch_status(supervisor_client, ticket, "ESCALATED", body={"expectedStatus": "OPEN"})

    assert (response.status_code, response.json()["code"]) == (409, "invalid_transition")
    assert response.json()["details"]["status"] == "ESCALATED"


def test_the_service_checks_both_preconditions():
    ticket = TicketFactory()

    with pytest.raises(AppError) as caught:
        services.ticket_change_status(
            ticket=ticket, to_status="IN_PROGRESS", actor=None, expected_version=1, expected_status="ESCALATED"
        )

    assert (caught.value.status, caught.value.code) == (409, "concurrent_update")
    assert services.ticket_change_status(
        ticket=ticket, to_status="IN_PROGRESS", actor=None, expected_version=1, expected_status="OPEN"
    ).status == ("IN_PROGRESS")


@pytest.mark.postgres
def test_the_callers_lock_timeout_is_restored_after_a_change():
    ticket = TicketFactory()

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL lock_timeout = '7s'")
        services.ticket_change_status(ticket=ticket, to_status="IN_PROGRESS", actor=None)
        cursor.execute("SHOW lock_timeout")
        assert cursor.fetchone()[0] == "7s"


def test_the_schema_documents_etag_if_match_expected_status_and_409(admin_client):
    schema = admin_client.get("/api/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    paths = schema["paths"]

    for path, method in [
        ("/api/tickets/{ticket_id}/status", "patch"),
        ("/api/tickets/{ticket_id}/assign", "patch"),
        ("/api/tickets/{ticket_id}", "delete"),
    ]:
        operation = paths[path][method]
        headers = [p["name"] for p in operation["parameters"] if p["in"] == "header"]
        assert headers == ["If-Match"], (path, method)
        assert "409" in operation["responses"], (path, method)
    for path, method, status in [
        ("/api/tickets/{ticket_id}", "get", "200"),
        ("/api/tickets/{ticket_id}/status", "patch", "200"),
        ("/api/tickets", "post", "201"),
    ]:
        assert "ETag" in paths[path][method]["responses"][status]["headers"], (path, method)
    assert "version" in schema["components"]["schemas"]["TicketOutput"]["properties"]
    assert "expectedStatus" in schema["components"]["schemas"]["PatchedTicketStatusInputRequest"]["properties"]
