"""Every API endpoint by every role (ADMIN, SUPERVISOR, AGENT) by anonymous, table-driven from
the contract (docs/contract.md): anonymous → 401, a role the contract does not allow → 403, an allowed
role → the endpoint's exact success status with a minimal valid request.

`test_the_matrix_covers_every_operation_in_the_schema` fails when an endpoint is added to the
API without a row here, so the matrix cannot silently fall behind the routes."""

import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.roles import Role
from ingestion.models import DeadLetter, ImportJob
from reports.selectors import REPORTS
from tests.accounts.factories import UserFactory
from tests.conftest import client_for
from tests.ingestion.workbooks import clean_rows, upload, workbook_bytes
from tests.tickets.factories import ClientFactory, TicketFactory

A, S, G = Role.ADMIN, Role.SUPERVISOR, Role.AGENT
EVERY_ROLE = frozenset({A, S, G})
STAFF = frozenset({A, S})
ADMIN_ONLY = frozenset({A})

try:
    from tickets.models import Notification
except ImportError:  # the SLA work adds it; until then its endpoints do not exist either
    Notification = None


@dataclass(frozen=True)
class Row:
    method: str
    path: str  # `{name}` placeholders are filled from the World
    allowed: frozenset
    success: int
    body: Any = None  # dict, or a callable(world, user) -> dict
    multipart: bool = False
    schema_path: str = ""  # the OpenAPI path, when it differs from `path`

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}"


@dataclass
class World:
    """The objects every path needs, created fresh for each test."""

    users: dict
    other_agent: Any
    client: Any
    ticket: Any
    job: Any
    letter: Any
    notifications: dict = field(default_factory=dict)

    def fill(self, path: str, user) -> str:
        notification = self.notifications.get(user.role) if user is not None else None
        return path.format(
            client_id=self.client.pk,
            ticket_id=self.ticket.pk,
            user_id=self.other_agent.pk,
            process_id=self.job.pk,
            dead_letter_id=self.letter.pk,
            notification_id=notification.pk if notification else uuid.uuid4(),
        )


def _register(world, user):
    return {"email": f"new-{uuid.uuid4().hex[:8]}@example.com", "password": "Str0ng-Passw0rd!", "role": "AGENT"}


def _logout(world, user):
    return {"refreshToken": str(RefreshToken.for_user(user or world.users[G]))}


def _ticket_create(world, user):
    return {"title": "Printer on fire", "description": "It is on fire.", "clientId": str(world.client.pk)}


def _assign(world, user):
    return {"agentId": str(world.other_agent.pk)}


def _upload(world, user):
    return {"file": upload(workbook_bytes(clean_rows(2)))}


ROWS = [
    # auth
    Row("GET", "/api/auth/me", EVERY_ROLE, 200),
    Row("POST", "/api/auth/logout", EVERY_ROLE, 204, _logout),
    Row("POST", "/api/auth/register", ADMIN_ONLY, 201, _register),
    Row("GET", "/api/users", STAFF, 200),
    Row("PATCH", "/api/users/{user_id}", ADMIN_ONLY, 200, {"level": 3}),
    # clients
    Row("GET", "/api/clients", EVERY_ROLE, 200),
    Row("POST", "/api/clients", STAFF, 201, {"name": "Acme", "email": "ops@acme.example", "type": "VIP"}),
    Row("GET", "/api/clients/{client_id}", EVERY_ROLE, 200),
    Row("PATCH", "/api/clients/{client_id}", STAFF, 200, {"company": "Acme Ltd"}),
    # tickets (the ticket is assigned to the AGENT, so the agent may change its status)
    Row("GET", "/api/tickets", EVERY_ROLE, 200),
    Row("POST", "/api/tickets", EVERY_ROLE, 201, _ticket_create),
    Row("GET", "/api/tickets/{ticket_id}", EVERY_ROLE, 200),
    Row("DELETE", "/api/tickets/{ticket_id}", STAFF, 204),
    Row("GET", "/api/tickets/{ticket_id}/events", EVERY_ROLE, 200),
    Row("PATCH", "/api/tickets/{ticket_id}/status", EVERY_ROLE, 200, {"status": "IN_PROGRESS"}),
    Row("PATCH", "/api/tickets/{ticket_id}/assign", STAFF, 200, _assign),
    # ingestion
    Row("GET", "/api/files", STAFF, 200),
    Row("POST", "/api/files/upload", STAFF, 202, _upload, multipart=True),
    Row("GET", "/api/files/status/{process_id}", STAFF, 200),
    Row("GET", "/api/files/{process_id}/errors", STAFF, 200),
    Row("GET", "/api/queue/stats", ADMIN_ONLY, 200),
    Row("GET", "/api/queue/dlq", ADMIN_ONLY, 200),
    Row("POST", "/api/queue/dlq/{dead_letter_id}/retry", ADMIN_ONLY, 202),
    # reports
    *(Row("GET", f"/api/reports/{name}", STAFF, 200) for name in REPORTS),
    Row("GET", "/api/reports/no-such-report", STAFF, 404, schema_path="-"),
]
if Notification is not None:
    ROWS += [
        Row("GET", "/api/notifications", EVERY_ROLE, 200),
        Row("POST", "/api/notifications/{notification_id}/read", EVERY_ROLE, 200),
    ]

ROLES = [A, S, G]


@pytest.fixture
def world(db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    users = {
        A: UserFactory(role=A, email="matrix-admin@example.com"),
        S: UserFactory(role=S, email="matrix-super@example.com"),
        G: UserFactory(role=G, level=1, email="matrix-agent@example.com"),
    }
    other_agent = UserFactory(role=G, level=2, email="matrix-agent2@example.com")
    client = ClientFactory()
    ticket = TicketFactory(client=client, agent=users[G])
    job = ImportJob.objects.create(filename="t.xlsx", stored_name="imports/none.xlsx", sha256="0" * 64)
    letter = DeadLetter.objects.create(
        job=job,
        chunk_no=0,
        task_name="ingestion.tasks.import_chunk_task",
        payload={"args": [str(job.pk), 0, 2, []], "kwargs": {"duplicates": None}},
        error="ServerSelectionTimeoutError: test",
    )
    notifications = {}
    if Notification is not None:
        notifications = {role: _notification_for(user, ticket) for role, user in users.items()}
    return World(users, other_agent, client, ticket, job, letter, notifications)


def _notification_for(user, ticket):
    """A notification owned by `user`, built from the model's own fields (the SLA work owns it)."""
    fields = {f.name for f in Notification._meta.get_fields()}
    values = {"recipient": user, "ticket": ticket, "kind": "sla_breach", "message": "Breached."}
    return Notification.objects.create(**{k: v for k, v in values.items() if k in fields})


def _call(api: APIClient, row: Row, world: World, user):
    path = world.fill(row.path, user)
    body = row.body(world, user) if callable(row.body) else row.body
    method = getattr(api, row.method.lower())
    if row.multipart:
        return method(path, body, format="multipart")
    if body is None:
        return method(path)
    return method(path, body, format="json")


def _expected(row: Row, role) -> int:
    if role is None:
        return 401
    return row.success if role in row.allowed else 403


CASES = [pytest.param(row, role, id=f"{row.id} as {role or 'anonymous'}") for row in ROWS for role in [*ROLES, None]]


@pytest.mark.parametrize(("row", "role"), CASES)
def test_role_matrix(row, role, world):
    user = world.users[role] if role else None
    api = client_for(user) if user else APIClient()

    response = _call(api, row, world, user)

    expected = _expected(row, role)
    assert response.status_code == expected, response.content[:500]
    if expected in (401, 403):
        body = response.json()
        assert set(body) == {"message", "code", "details"}
        assert body["code"] == ("not_authenticated" if expected == 401 else "forbidden")


def test_an_agent_may_not_change_a_ticket_assigned_to_someone_else(world):
    world.ticket.agent = world.other_agent
    world.ticket.save(update_fields=["agent"])

    response = client_for(world.users[G]).patch(
        f"/api/tickets/{world.ticket.pk}/status", {"status": "IN_PROGRESS"}, format="json"
    )

    assert response.status_code == 403
    assert response.json()["code"] == "not_assigned"


@pytest.mark.parametrize("path", ["/api/auth/login", "/api/auth/refresh", "/health", "/api/schema"])
def test_public_endpoints_need_no_token(path, db):
    api = APIClient()
    response = api.post(path, {}, format="json") if path.startswith("/api/auth") else api.get(path)
    # login/refresh with an empty body: the input is checked (400), not the caller (401).
    assert response.status_code == (400 if path.startswith("/api/auth") else 200)


def test_the_matrix_covers_every_operation_in_the_schema(admin_client):
    schema = admin_client.get("/api/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    public = {("POST", "/api/auth/login"), ("POST", "/api/auth/refresh")}
    in_schema = {
        (method.upper(), path)
        for path, operations in schema["paths"].items()
        for method in operations
        if method in {"get", "post", "put", "patch", "delete"}
    } - public
    in_matrix = {(row.method, row.schema_path or row.path) for row in ROWS}
    assert in_schema - in_matrix == set(), "endpoints without a row in the role matrix"
    for operation in in_schema:  # every protected operation declares the bearer scheme
        method, path = operation
        assert schema["paths"][path][method.lower()].get("security"), operation
