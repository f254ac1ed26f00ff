"""`GET /api/notifications` and `POST /api/notifications/{id}/read`: own notifications only."""

import uuid
from datetime import timedelta

import pytest
from rest_framework.test import APIClient

from tests.accounts.factories import UserFactory
from tests.conftest import client_for
from tests.tickets.conftest import T0
from tests.tickets.factories import TicketFactory
from tickets.models import Notification

pytestmark = pytest.mark.django_db


def _notification(recipient, ticket, *, minutes=0, kind="sla_breach", read_at=None):
    return Notification.objects.create(
        recipient=recipient,
        ticket=ticket,
        kind=kind,
        message=f"{kind} at +{minutes} min",
        created_at=T0 + timedelta(minutes=minutes),
        read_at=read_at,
    )


@pytest.fixture
def inbox(supervisor, agent):
    ticket = TicketFactory()
    mine = [
        _notification(supervisor, ticket, minutes=0, kind="sla_warning"),
        _notification(supervisor, ticket, minutes=5, kind="sla_breach", read_at=T0 + timedelta(hours=1)),
        _notification(supervisor, ticket, minutes=10, kind="sla_escalation"),
    ]
    theirs = _notification(agent, ticket, minutes=20)
    return ticket, mine, theirs


def test_the_list_holds_only_my_notifications_newest_first(supervisor_client, inbox):
    ticket, mine, _ = inbox

    response = supervisor_client.get("/api/notifications")

    assert response.status_code == 200
    body = response.json()
    assert (body["total"], body["page"], body["pageSize"]) == (3, 1, 20)
    assert [row["id"] for row in body["data"]] == [str(n.pk) for n in reversed(mine)]
    assert body["data"][0] == {
        "id": str(mine[2].pk),
        "kind": "sla_escalation",
        "ticketId": str(ticket.pk),
        "message": "sla_escalation at +10 min",
        "createdAt": "2026-03-02T09:10:00.000000Z",
        "readAt": None,
    }
    assert body["data"][1]["readAt"] == "2026-03-02T10:00:00.000000Z"


def test_the_unread_filter(supervisor_client, inbox):
    _, mine, _ = inbox

    unread = supervisor_client.get("/api/notifications?unread=true").json()
    read = supervisor_client.get("/api/notifications?unread=false").json()

    assert [row["id"] for row in unread["data"]] == [str(mine[2].pk), str(mine[0].pk)]
    assert unread["total"] == 2
    assert [row["id"] for row in read["data"]] == [str(mine[1].pk)]


def test_pagination(supervisor_client, inbox):
    _, mine, _ = inbox

    body = supervisor_client.get("/api/notifications?page=2&pageSize=2").json()

    assert (body["total"], body["page"], body["pageSize"]) == (3, 2, 2)
    assert [row["id"] for row in body["data"]] == [str(mine[0].pk)]


@pytest.mark.parametrize(
    ("query", "field"), [("unread=maybe", "unread"), ("pageSize=101", "pageSize"), ("page=0", "page")]
)
def test_bad_query_parameters_are_400(supervisor_client, inbox, query, field):
    response = supervisor_client.get(f"/api/notifications?{query}")

    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert field in response.json()["details"]


def test_marking_read_returns_the_notification_and_is_idempotent(supervisor_client, inbox):
    _, mine, _ = inbox
    target = mine[0]

    first = supervisor_client.post(f"/api/notifications/{target.pk}/read")
    second = supervisor_client.post(f"/api/notifications/{target.pk}/read")

    assert first.status_code == second.status_code == 200
    assert first.json()["id"] == str(target.pk)
    assert first.json()["readAt"] is not None
    assert second.json()["readAt"] == first.json()["readAt"]
    target.refresh_from_db()
    assert target.read_at is not None
    assert supervisor_client.get("/api/notifications?unread=true").json()["total"] == 1


def test_an_already_read_notification_keeps_its_first_read_time(supervisor_client, inbox):
    _, mine, _ = inbox

    response = supervisor_client.post(f"/api/notifications/{mine[1].pk}/read")

    assert response.json()["readAt"] == "2026-03-02T10:00:00.000000Z"


def test_someone_elses_notification_is_404_and_stays_unread(supervisor_client, inbox):
    _, _, theirs = inbox

    response = supervisor_client.post(f"/api/notifications/{theirs.pk}/read")

    assert response.status_code == 404
    assert response.json()["code"] == "notification_not_found"
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_an_unknown_or_malformed_id(supervisor_client, inbox):
    unknown = supervisor_client.post(f"/api/notifications/{uuid.uuid4()}/read")
    malformed = supervisor_client.post("/api/notifications/not-a-uuid/read")

    assert (unknown.status_code, unknown.json()["code"]) == (404, "notification_not_found")
    assert (malformed.status_code, malformed.json()["code"]) == (400, "invalid_id")


@pytest.mark.parametrize("role", ["ADMIN", "SUPERVISOR", "AGENT"])
def test_every_role_reads_its_own(role):
    user = UserFactory(role=role, email=f"{role.lower()}-inbox@example.com")
    other = UserFactory(role="SUPERVISOR", email="other-inbox@example.com")
    ticket = TicketFactory()
    own = _notification(user, ticket)
    _notification(other, ticket)
    api = client_for(user)

    listed = api.get("/api/notifications").json()
    read = api.post(f"/api/notifications/{own.pk}/read")

    assert [row["id"] for row in listed["data"]] == [str(own.pk)]
    assert read.status_code == 200


def test_anonymous_is_401(inbox):
    _, mine, _ = inbox
    api = APIClient()

    for response in (api.get("/api/notifications"), api.post(f"/api/notifications/{mine[0].pk}/read")):
        assert response.status_code == 401
        assert response.json()["code"] == "not_authenticated"


def test_the_list_costs_a_constant_number_of_queries(supervisor, supervisor_client, django_assert_num_queries):
    ticket = TicketFactory()
    for minutes in range(30):
        _notification(supervisor, ticket, minutes=minutes)

    # The user (JWT), the count, the page.
    with django_assert_num_queries(3):
        response = supervisor_client.get("/api/notifications?pageSize=25")

    assert len(response.json()["data"]) == 25
