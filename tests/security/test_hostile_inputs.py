"""Hostile values into every input of every operation of the OpenAPI schema, as an ADMIN.

For each operation in /api/schema: every query and header parameter, every path parameter and
every field of a JSON request body gets each value of HOSTILE (instants a datetime cannot hold,
lone surrogates, NUL, huge and negative numbers, 10,000-character strings, deep nesting, wrong
types), and the whole body gets hostile documents (nesting past the recursion limit, bad UTF-8,
non-objects). Path parameters name real objects and bodies start from a valid one, so each value
reaches the validation of its own field. Every answer must be below 500, and every 4xx the
contract's JSON error shape. Unlike test_schemathesis.py (values the schema allows, generated),
these are the values the schema forbids, chosen. The back-office changelists, outside the
schema, get the same query values at the end.
"""

import json
from dataclasses import dataclass, field
from urllib.parse import quote

import pytest
from django.core.serializers.json import DjangoJSONEncoder
from django.test import Client as DjangoClient
from drf_spectacular.generators import SchemaGenerator
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.roles import Role
from ingestion.models import DeadLetter, ImportJob
from tests.accounts.factories import UserFactory
from tests.conftest import client_for
from tests.tickets.factories import ClientFactory, TicketFactory
from tickets.models import Notification

pytestmark = pytest.mark.django_db


def _nested(depth: int, kind: str):
    value: object = "x"
    for _ in range(depth):
        value = [value] if kind == "array" else {"a": value}
    return value


HOSTILE: dict[str, object] = {
    "date-year-10000-in-utc": "9999-12-31T23:00:00-05:00",
    "date-before-year-1-in-utc": "0001-01-01T00:00:00+05:00",
    "date-last-day": "9999-12-31",
    "date-first-day": "0001-01-01",
    "date-february-30": "2024-02-30",
    "lone-surrogate": "\ud800",
    "lone-surrogate-in-text": "ab\udfffcd@example.com",
    "nul": "a\x00b",
    "control-characters": "\x01\x1b[31m\r\n\t",
    "huge-int": 10**30,
    "huge-negative-int": -(10**30),
    "negative": -1,
    "zero": 0,
    "float": 1.5,
    "huge-float": 1e308,
    "huge-int-text": "1" + "0" * 30,
    "nan-text": "NaN",
    "infinity-text": "-Infinity",
    "exponent-text": "1e400",
    "offset-out-of-range": "2024-01-01T00:00:00+99:00",
    "year-zero": "0000-01-01",
    "long-string": "x" * 10_000,
    "long-digits": "9" * 5_000,
    "nested-array-40": _nested(40, "array"),
    "nested-object-40": _nested(40, "object"),
    "nested-array-500": _nested(500, "array"),
    "true": True,
    "null": None,
    "empty-string": "",
    "empty-list": [],
    "empty-object": {},
    "list-of-strings": ["OPEN", "CLOSED"],
    "sql": "' OR 1=1; DROP TABLE tickets_ticket; --",
    "format-string": "%s%n{0}{__class__}",
    "unicode": "ñ😀\u202e",
    "uuid-nil": "00000000-0000-0000-0000-000000000000",
}

# Whole request bodies that are not a usable JSON object.
HOSTILE_DOCUMENTS: dict[str, bytes] = {
    "nested-past-recursion-limit": ("[" * 100_000 + "]" * 100_000).encode(),
    "object-nested-past-recursion-limit": ('{"a":' * 100_000 + "1" + "}" * 100_000).encode(),
    "lone-surrogate-escape": b'{"email": "\\ud800", "password": "\\udc00", "status": "\\ud800"}',
    "invalid-utf8": b'{"email": "\xff\xfe\xed\xa0\x80"}',
    "array": b"[1, 2, 3]",
    "string": b'"just a string"',
    "number": b"1e999999",
    "nan": b'{"priority": NaN, "level": Infinity}',
    "truncated": b'{"title": "abc',
    "empty": b"",
}


def _load_operations() -> list[tuple[str, str, dict]]:
    document = SchemaGenerator().get_schema(request=None, public=True)
    document = json.loads(json.dumps(document, cls=DjangoJSONEncoder))
    components = document["components"]["schemas"]
    operations = []
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                operations.append((method.upper(), path, {**operation, "_components": components}))
    return operations


OPERATIONS = _load_operations()


def _body_fields(operation: dict) -> list[str]:
    content = operation.get("requestBody", {}).get("content", {})
    schema = content.get("application/json", {}).get("schema")
    if schema is None:
        return []
    if "$ref" in schema:
        schema = operation["_components"][schema["$ref"].rsplit("/", 1)[1]]
    return sorted(schema.get("properties", {}))


@dataclass
class World:
    admin: object
    ids: dict
    bases: dict = field(default_factory=dict)


@pytest.fixture
def world(settings, tmp_path):
    settings.RATELIMIT_ENABLE = False
    settings.MEDIA_ROOT = tmp_path / "media"
    admin = UserFactory(role=Role.ADMIN, email="fuzz-admin@example.com")
    agent = UserFactory(role=Role.AGENT, level=2, email="fuzz-agent@example.com")
    client = ClientFactory()
    ticket = TicketFactory(client=client, agent=agent)
    job = ImportJob.objects.create(filename="t.xlsx", stored_name="imports/none.xlsx", sha256="0" * 64)
    letter = DeadLetter.objects.create(
        job=job, chunk_no=0, task_name="ingestion.tasks.import_chunk_task", payload={"args": []}, error="test"
    )
    notification = Notification.objects.create(recipient=admin, ticket=ticket, kind="sla_breach", message="Breached.")
    ids = {
        "ticket_id": ticket.pk,
        "client_id": client.pk,
        "user_id": agent.pk,
        "process_id": job.pk,
        "dead_letter_id": letter.pk,
        "notification_id": notification.pk,
    }
    # A valid body per operation, so a hostile value in one field is that field's problem.
    bases = {
        ("POST", "/api/auth/login"): {"email": "fuzz-admin@example.com", "password": "wrong"},
        ("POST", "/api/auth/refresh"): {"refreshToken": str(RefreshToken.for_user(agent))},
        ("POST", "/api/auth/logout"): {"refreshToken": str(RefreshToken.for_user(admin))},
        ("POST", "/api/auth/register"): {"email": "new@example.com", "password": "Str0ng-Passw0rd!", "role": "AGENT"},
        ("PATCH", "/api/users/{user_id}"): {"level": 2},
        ("POST", "/api/clients"): {"name": "Acme", "email": "ops@acme.example", "type": "VIP"},
        ("PATCH", "/api/clients/{client_id}"): {"company": "Acme"},
        ("POST", "/api/tickets"): {"title": "Printer", "description": "Jammed.", "clientId": str(client.pk)},
        ("PATCH", "/api/tickets/{ticket_id}/status"): {"status": "IN_PROGRESS"},
        ("PATCH", "/api/tickets/{ticket_id}/assign"): {"agentId": str(agent.pk)},
    }
    return World(admin=admin, ids=ids, bases=bases)


def _text(value) -> str:
    """A value as query or path text."""
    if isinstance(value, str):
        return value
    return json.dumps(value)


def _quoted(text: str) -> str:
    # Lone surrogates travel as the (invalid) UTF-8 bytes a client would send for them.
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


class Fuzzer:
    def __init__(self, world: World, method: str, path: str):
        self.api = client_for(world.admin)
        self.world, self.method, self.path = world, method, path
        self.sent, self.failures = 0, []

    def url(self, path_values: dict | None = None, query: list[tuple[str, str]] | None = None) -> str:
        values = {name: str(value) for name, value in self.world.ids.items()}
        values.update(path_values or {})
        url = self.path.format(**{name: _quoted(text) for name, text in values.items()})
        if query:
            url += "?" + "&".join(f"{_quoted(name)}={_quoted(text)}" for name, text in query)
        return url

    def send(self, label: str, url: str, *, body: bytes | None = None, headers: dict | None = None) -> None:
        kwargs = {"headers": headers} if headers else {}
        if body is not None:
            kwargs.update(data=body, content_type="application/json")
        response = self.api.generic(self.method, url, **kwargs)
        self.sent += 1
        problem = None
        if response.status_code >= 500:
            problem = "5xx"
        elif response.status_code >= 400:
            try:
                shape = set(response.json())
            except ValueError:
                shape = None
            if shape != {"message", "code", "details"}:
                problem = "not the error shape"
        if problem:
            self.failures.append(f"{label}: {response.status_code} {problem}: {response.content[:300]!r}")

    def body(self, document: dict) -> bytes:
        return json.dumps(document).encode()


def _fuzz_parameters(fuzzer: Fuzzer, operation: dict, base_body: bytes | None) -> None:
    for parameter in operation.get("parameters", []):
        name, where = parameter["name"], parameter["in"]
        for label, value in HOSTILE.items():
            if value is None:
                continue
            tag = f"{where} {name}={label}"
            if where == "query":
                pairs = (
                    [(name, _text(v)) for v in value] if isinstance(value, list) and value else [(name, _text(value))]
                )
                fuzzer.send(tag, fuzzer.url(query=pairs), body=base_body)
            elif where == "path":
                fuzzer.send(tag, fuzzer.url({name: _text(value)}), body=base_body)
            elif where == "header":
                text = _text(value)
                if text.isprintable() and text.isascii():  # what an HTTP header can carry
                    fuzzer.send(tag, fuzzer.url(), body=base_body, headers={name: text})


def _fuzz_body(fuzzer: Fuzzer, operation: dict, base: dict) -> None:
    for name in _body_fields(operation):
        for label, value in HOSTILE.items():
            fuzzer.send(f"body {name}={label}", fuzzer.url(), body=fuzzer.body({**base, name: value}))
    # Every operation, those without a documented body too: a client may send one anyway.
    for label, document in HOSTILE_DOCUMENTS.items():
        fuzzer.send(f"document {label}", fuzzer.url(), body=document)


@pytest.mark.parametrize(("method", "path", "operation"), OPERATIONS, ids=[f"{m} {p}" for m, p, _ in OPERATIONS])
def test_no_hostile_value_makes_a_5xx_or_leaves_the_error_shape(world, method, path, operation):
    fuzzer = Fuzzer(world, method, path)
    base = world.bases.get((method, path), {})
    base_body = fuzzer.body(base) if "requestBody" in operation else None

    _fuzz_parameters(fuzzer, operation, base_body)
    _fuzz_body(fuzzer, operation, base)

    assert fuzzer.sent > 0, "nothing to fuzz: the operation has no input"
    assert fuzzer.failures == [], "\n".join(fuzzer.failures[:20])


def test_every_operation_of_the_schema_is_fuzzed(admin_client):
    served = admin_client.get("/api/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    in_schema = {
        (method.upper(), path)
        for path, methods in served["paths"].items()
        for method in methods
        if method in {"get", "post", "put", "patch", "delete"}
    }

    assert in_schema == {(method, path) for method, path, _ in OPERATIONS}
    assert len(in_schema) >= 30


# --- the back-office: the changelists' filters take query values too ---------------------
ADMIN_PAGES = {
    "/admin/tickets/ticket/": ["escalation_level", "status", "client_type", "deleted", "breached", "at_risk"],
    "/admin/tickets/notification/": ["kind", "read", "delivery", "email_status"],
    "/admin/tickets/client/": ["type", "q"],
    "/admin/tickets/slapolicy/": ["client_type"],
    "/admin/tickets/businesscalendar/": ["q"],
    "/admin/accounts/user/": ["role", "level", "is_active__exact"],
    "/admin/ingestion/importjob/": ["status"],
    "/admin/ingestion/deadletter/": ["q"],
    "/admin/reports/dashboard/": ["from", "to", "clientType"],
}
ADMIN_VALUES = ["abc", "a\x00b", "9" * 40, "-1", "9999-12-31T23:00:00-05:00", "x" * 10_000, "\ud800"]


def test_no_hostile_filter_value_makes_a_5xx_in_the_back_office(world):
    # Was: ?escalation_level=abc (int() of any value) and a NUL in any choice filter (PostgreSQL
    # refuses NUL in text) were 500s.
    browser = DjangoClient(raise_request_exception=False)
    browser.force_login(world.admin)
    failures = []
    for page, names in ADMIN_PAGES.items():
        for name in [*names, "o", "p", "q"]:
            for value in ADMIN_VALUES:
                response = browser.get(f"{page}?{_quoted(name)}={_quoted(value)}")
                if response.status_code >= 500:
                    failures.append((page, name, value[:12], response.status_code))

    assert failures == []


def test_a_nul_in_the_query_string_is_400_in_the_error_shape_under_the_api(admin_client):
    response = admin_client.get("/api/tickets?status=OPEN%00")

    assert (response.status_code, response.json()["code"]) == (400, "bad_request")
