import contextlib

import pytest
from django.conf import settings
from django.db import connection

from tests.faults.harness import TcpProxy, wait_for


def database_url(port: int | None = None) -> str:
    """The test database, as a URL another process can use (optionally through a proxy)."""
    db = connection.settings_dict
    user = db["USER"] or "postgres"
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    host = "127.0.0.1" if port else (db["HOST"] or "127.0.0.1")
    return f"postgres://{user}{password}@{host}:{port or db['PORT'] or 5432}/{db['NAME']}"


def redis_url(port: int | None = None) -> str:
    """The configured Redis database, optionally through a proxy on `port`."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(settings.REDIS_URL)
    netloc = f"127.0.0.1:{port}" if port else parts.netloc
    return urlunsplit(parts._replace(netloc=netloc))


def other_sessions() -> int:
    """Sessions on the test database other than this process's own."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


@pytest.fixture
def pg_proxy():
    proxy = TcpProxy(int(connection.settings_dict["PORT"] or 5432))
    yield proxy
    proxy.close()


@pytest.fixture(autouse=True)
def _subprocess_sessions_end(request):
    """Sessions of the subprocesses (gunicorn, workers) end before pytest-django drops the test
    database; a killed process's session may linger a moment, so wait, then end the rest (they
    are on this run's own test database)."""
    yield
    if "transactional_db" not in request.fixturenames and not request.node.get_closest_marker("django_db"):
        return
    if connection.vendor != "postgresql":
        return
    with contextlib.suppress(TimeoutError):
        wait_for(lambda: other_sessions() == 0, timeout=10, what="subprocess sessions to end")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


@pytest.fixture
def redis_proxy():
    from urllib.parse import urlsplit

    proxy = TcpProxy(urlsplit(settings.REDIS_URL).port or 6379)
    yield proxy
    proxy.close()
