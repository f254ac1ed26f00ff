"""Property-based API testing with schemathesis, in-process against the WSGI app: every
operation in /api/schema, with generated inputs, sent as each role (ADMIN, SUPERVISOR, AGENT).
Checks: no 5xx, and every response matches the schema (status-specific body and content type).

Bounded for CI: a few examples per operation (SCHEMATHESIS_MAX_EXAMPLES, default 8) and no
deadline. Raise the env var for a deeper local run."""

import json
import os

import pytest
import schemathesis
from django.core import signals
from django.core.serializers.json import DjangoJSONEncoder
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework_simplejwt.tokens import RefreshToken
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from accounts.roles import Role
from tests.accounts.factories import UserFactory
from tests.tickets.factories import ClientFactory, TicketFactory

MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "8"))
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


def _load_schema():
    """The schema as /api/schema serves it (generated directly: at collection time the test
    hosts and database are not set up yet), bound to the in-process WSGI app for the calls."""
    from drf_spectacular.generators import SchemaGenerator

    document = SchemaGenerator().get_schema(request=None, public=True)
    loaded = schemathesis.openapi.from_dict(json.loads(json.dumps(document, cls=DjangoJSONEncoder)))
    loaded.app = get_wsgi_application()
    return loaded


schema = _load_schema()


@pytest.fixture(autouse=True)
def _in_process_server(settings, tmp_path):
    # The werkzeug client sends Host: localhost; generated inputs must not trip the rate limit
    # (429 is not in the schema) nor write uploads into the real media folder.
    settings.ALLOWED_HOSTS = ["*"]
    settings.RATELIMIT_ENABLE = False
    settings.MEDIA_ROOT = tmp_path / "media"
    # As Django's test client does: the WSGI handler must not close the connection that holds
    # the test's transaction at the end of each request.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def role_headers(db):
    """A bearer header per role, plus a client and ticket so id-shaped paths sometimes exist."""
    ticket = TicketFactory(client=ClientFactory())
    assert ticket.pk
    users = [
        UserFactory(role=Role.ADMIN, email="st-admin@example.com"),
        UserFactory(role=Role.SUPERVISOR, email="st-super@example.com"),
        UserFactory(role=Role.AGENT, level=2, email="st-agent@example.com"),
    ]
    return {user.role: {"Authorization": f"Bearer {RefreshToken.for_user(user).access_token}"} for user in users}


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
    derandomize=True,
)
def test_api_conforms_to_its_schema_for_every_role(case, role_headers):
    for headers in role_headers.values():
        case.call_and_validate(headers=headers, checks=CHECKS)
