"""Shared fixtures. Tests marked `postgres` / `redis` need the real servers: without them they
are skipped with a reason, or fail when REQUIRE_SERVICES=1 (CI)."""

import os
import re

import pytest
from django.conf import settings
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts.roles import Role
from techsupport import mongo
from tests.accounts.factories import UserFactory

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"
# Tests drop every collection of the document database they use: only ever one named as a test's.
TEST_DATABASE_NAME = re.compile(r"^test(_.*)?$|_test$")


def _service_missing(marker: str) -> str | None:
    if marker == "postgres" and settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        return "needs PostgreSQL (set DATABASE_URL)"
    if marker == "redis" and not settings.REDIS_URL:
        return "needs Redis (set REDIS_URL)"
    return None


def pytest_runtest_setup(item):
    for marker in ("postgres", "redis"):
        if item.get_closest_marker(marker):
            reason = _service_missing(marker)
            if reason and REQUIRE_SERVICES:
                pytest.fail(f"REQUIRE_SERVICES=1 but the test {reason}")
            if reason:
                pytest.skip(reason)


@pytest.fixture(autouse=True)
def _clean_cache():
    """Rate-limit counters live in the cache; each test starts with none."""
    cache.clear()
    yield


def pytest_sessionstart(session):
    """Before any test or database setup: the tests empty the document database around each test,
    so it must be named as a test database (`make test` with a developer's or production
    MONGO_URL must not erase `ticket_logs`)."""
    if not TEST_DATABASE_NAME.search(settings.MONGO_DB_NAME):
        pytest.exit(
            f"Refusing to run: the tests drop the collections of MongoDB database {settings.MONGO_DB_NAME!r}, "
            "whose name does not mark it as a test database (test_* or *_test). Point MONGO_URL at one, "
            "or unset it to let the tests start a throw-away server.",
            returncode=2,
        )


@pytest.fixture(autouse=True)
def mongo_db():
    """The document database (a test database: see pytest_sessionstart), emptied around each test."""
    db = mongo.get_db()
    for name in db.list_collection_names():
        db.drop_collection(name)
    yield db
    for name in db.list_collection_names():
        db.drop_collection(name)


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def admin_user(db):
    return UserFactory(role=Role.ADMIN, email="root@example.com")


@pytest.fixture
def supervisor(db):
    return UserFactory(role=Role.SUPERVISOR, email="super@example.com")


@pytest.fixture
def agent(db):
    return UserFactory(role=Role.AGENT, level=1, email="agent1@example.com")


def client_for(user) -> APIClient:
    """An API client authenticated as `user` with a real access token."""
    from rest_framework_simplejwt.tokens import RefreshToken

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return client


@pytest.fixture
def admin_client(admin_user):
    return client_for(admin_user)


@pytest.fixture
def supervisor_client(supervisor):
    return client_for(supervisor)


@pytest.fixture
def agent_client(agent):
    return client_for(agent)
