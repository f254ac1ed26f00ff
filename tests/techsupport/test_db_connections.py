"""A PostgreSQL session the server ended is replaced before the next request, with no health
check round trip (techsupport/db_connections.py; CONN_HEALTH_CHECKS is off)."""

import time

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from techsupport.db_connections import close_dropped_connections

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _terminate(pid: int) -> None:
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(**params, autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
    time.sleep(0.2)  # the termination notice reaches our socket


def test_a_terminated_session_is_replaced_before_the_next_request(admin_client):
    assert settings.DATABASES["default"]["CONN_HEALTH_CHECKS"] is False
    assert admin_client.get("/api/tickets").status_code == 200
    first_pid = connection.connection.info.backend_pid

    _terminate(first_pid)
    response = admin_client.get("/api/tickets")

    assert response.status_code == 200
    assert connection.connection.info.backend_pid != first_pid


def test_a_live_idle_session_is_kept():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    session = connection.connection

    close_dropped_connections()

    assert connection.connection is session
