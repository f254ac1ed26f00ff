"""PostgreSQL goes away in the middle of API traffic (a TCP proxy between gunicorn and the
server is cut: open connections reset, new ones refused). While it is down every request gets
a clean JSON 503 (liveness stays 200, readiness 503); once it is back the same gunicorn
process serves 200 again — no restart — and nothing was half-written."""

import time

import pytest
import requests
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.roles import Role
from tests.accounts.factories import UserFactory
from tests.faults.conftest import database_url, redis_url
from tests.faults.harness import gunicorn, service_env
from tests.tickets.factories import ClientFactory, TicketFactory
from tickets.models import Ticket

pytestmark = [pytest.mark.faults, pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

ROUNDS = 20


def _get(base, path, token=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.get(f"{base}{path}", headers=headers, timeout=15)


def test_api_answers_503_while_postgres_is_down_and_recovers_without_restart(pg_proxy, tmp_path):
    supervisor = UserFactory(role=Role.SUPERVISOR, email="faults-super@example.com")
    client = ClientFactory()
    TicketFactory.create_batch(3, client=client)
    env = service_env(
        database_url=database_url(pg_proxy.port),
        redis_url=redis_url(),
        DB_CONNECT_TIMEOUT_S="2",
        CELERY_TASK_ALWAYS_EAGER="1",
    )

    with gunicorn(env, log=tmp_path / "gunicorn.log") as base:
        token = str(RefreshToken.for_user(supervisor).access_token)
        before = [_get(base, "/api/tickets", token).status_code for _ in range(ROUNDS)]
        assert before == [200] * ROUNDS

        pg_proxy.cut()
        started = time.monotonic()
        during = [_get(base, "/api/tickets", token) for _ in range(ROUNDS)]
        write = requests.post(
            f"{base}/api/tickets",
            json={
                "title": "Written during the outage",
                "description": "Must not half-exist.",
                "clientId": str(client.pk),
            },
            headers={"Authorization": f"Bearer {token}"},
            timeout=15,
        )
        ready, live = _get(base, "/health/ready"), _get(base, "/health")
        outage_seconds = time.monotonic() - started

        pg_proxy.restore()
        after = [_get(base, "/api/tickets", token).status_code for _ in range(ROUNDS)]
        created = requests.post(
            f"{base}/api/tickets",
            json={"title": "Written after the outage", "description": "Must exist.", "clientId": str(client.pk)},
            headers={"Authorization": f"Bearer {token}"},
            timeout=15,
        )
        ready_after = _get(base, "/health/ready")

    assert [r.status_code for r in during] == [503] * ROUNDS
    for response in during:
        assert response.json() == {
            "message": "A backing service is unavailable; retry shortly.",
            "code": "service_unavailable",
            "details": {"service": "database"},
        }
    assert write.status_code == 503
    assert (live.status_code, ready.status_code) == (200, 503)
    assert ready.json()["checks"]["database"]["status"] == "unavailable"
    assert outage_seconds < 30  # refused connections fail fast; nothing waits for a timeout
    assert after == [200] * ROUNDS
    assert created.status_code == 201
    assert ready_after.status_code == 200
    assert list(Ticket.objects.filter(title__startswith="Written").values_list("title", flat=True)) == [
        "Written after the outage"
    ]
