"""A slow or dead dependency gives a JSON 503/504 quickly, never a hung worker or an HTML page."""

import pytest
from django.db import connection
from pymongo.errors import NetworkTimeout, ServerSelectionTimeoutError
from redis.exceptions import ConnectionError as RedisConnectionError

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("error", [ServerSelectionTimeoutError("no servers"), NetworkTimeout("timed out")])
def test_document_store_down_is_json_503(supervisor_client, monkeypatch, error):
    def unreachable():
        raise error

    monkeypatch.setattr("techsupport.mongo.get_db", unreachable)
    monkeypatch.setattr("reports.selectors.get_db", unreachable, raising=False)

    response = supervisor_client.get("/api/reports/avg-resolution")

    assert response.status_code == 503
    assert response.json() == {
        "message": "A backing service is unavailable; retry shortly.",
        "code": "service_unavailable",
        "details": {"service": "mongo"},
    }


def test_cache_down_fails_login_closed_and_the_api_limit_open(admin_client, api_client, monkeypatch):
    def cache_down(*args, **kwargs):
        raise RedisConnectionError("Connection refused")

    monkeypatch.setattr("django_ratelimit.core.get_usage", cache_down)

    class RedisDown:  # the API limit's own pipelined round trip (techsupport/rate_limits.py)
        pipeline = cache_down

    monkeypatch.setattr("techsupport.rate_limits.redis_client", RedisDown)

    login = api_client.post("/api/auth/login", {"email": "a@example.com", "password": "x"}, format="json")
    me = admin_client.get("/api/auth/me")

    assert login.status_code == 503
    assert login.json()["details"] == {"service": "redis"}
    assert me.status_code == 200


@pytest.mark.postgres
def test_statement_timeout_is_json_504(admin_client, monkeypatch):
    def slow_user_list(**filters):
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL statement_timeout = 50")
            cursor.execute("SELECT pg_sleep(2)")

    monkeypatch.setattr("accounts.selectors.user_list", slow_user_list)

    response = admin_client.get("/api/users")

    assert response.status_code == 504
    assert response.json()["code"] == "timeout"


@pytest.mark.postgres
def test_statement_timeout_is_configured_on_every_connection():
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == "30s"
