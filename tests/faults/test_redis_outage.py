"""Redis (broker, cache and rate-limit counters) goes away under a running gunicorn (a TCP proxy
between them is cut). Ticket traffic lives in PostgreSQL and must keep working or fail cleanly
(JSON, never a bare 500); readiness says 503; once Redis is back everything answers again
without a restart. An upload accepted while the broker is down must not be lost."""

import json
from datetime import timedelta

import pytest
import redis
import requests
from django.conf import settings
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.roles import Role
from ingestion import services
from ingestion.models import ImportJob
from tests.accounts.factories import UserFactory
from tests.faults.conftest import database_url, redis_url
from tests.faults.harness import gunicorn, service_env
from tests.ingestion.workbooks import XLSX_TYPE, clean_rows, workbook_bytes
from tests.tickets.factories import ClientFactory, TicketFactory

pytestmark = [pytest.mark.faults, pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

ROUNDS = 10


def _queued_job_ids() -> set[str]:
    """Job ids of the split tasks waiting in the broker's `ingestion` queue."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        messages = [json.loads(raw) for raw in client.lrange("ingestion", 0, -1)]
    finally:
        client.close()
    return {message["headers"]["argsrepr"].split("'")[1] for message in messages}


def test_api_survives_a_redis_outage_and_recovers_without_restart(redis_proxy, tmp_path):
    admin = UserFactory(role=Role.ADMIN, email="faults-admin@example.com")
    client = ClientFactory()
    TicketFactory.create_batch(3, client=client)
    redis.Redis.from_url(settings.REDIS_URL).delete("ingestion")
    env = service_env(
        database_url=database_url(),
        redis_url=redis_url(redis_proxy.port),
        REDIS_SOCKET_TIMEOUT_S="1",
        CELERY_TASK_ALWAYS_EAGER="0",
        MEDIA_ROOT=str(tmp_path / "media"),
    )
    headers = {"Authorization": f"Bearer {RefreshToken.for_user(admin).access_token}"}
    workbook = workbook_bytes(clean_rows(3))

    def post_upload(base):
        return requests.post(
            f"{base}/api/files/upload",
            files={"file": ("t.xlsx", workbook, XLSX_TYPE)},
            headers=headers,
            timeout=30,
        )

    with gunicorn(env, log=tmp_path / "gunicorn.log") as base:
        before = [requests.get(f"{base}/api/tickets", headers=headers, timeout=15).status_code for _ in range(ROUNDS)]

        redis_proxy.cut()
        during = [requests.get(f"{base}/api/tickets", headers=headers, timeout=15) for _ in range(ROUNDS)]
        upload_during = post_upload(base)
        ready_during = requests.get(f"{base}/health/ready", timeout=15)

        redis_proxy.restore()
        after = [requests.get(f"{base}/api/tickets", headers=headers, timeout=15).status_code for _ in range(ROUNDS)]
        upload_after = post_upload(base)
        ready_after = requests.get(f"{base}/health/ready", timeout=15)

    assert before == [200] * ROUNDS
    # Tickets live in PostgreSQL and the API rate limit fails open: the desk keeps working.
    assert [r.status_code for r in during] == [200] * ROUNDS
    assert (ready_during.status_code, ready_during.json()["checks"]["redis"]["status"]) == (503, "unavailable")
    # The upload is accepted and its job stored, but the split could not be enqueued...
    assert upload_during.status_code == 202
    stranded = upload_during.json()["processId"]
    assert ImportJob.objects.get(pk=stranded).status == "pending"
    assert stranded not in _queued_job_ids()
    assert after == [200] * ROUNDS
    assert (upload_after.status_code, ready_after.status_code) == (202, 200)
    assert upload_after.json()["processId"] in _queued_job_ids()

    # ...until the periodic re-drive (every 5 min, for jobs pending > 10 min) enqueues it.
    from config.celery import app

    eager, app.conf.task_always_eager = app.conf.task_always_eager, False
    try:
        assert services.import_jobs_redrive(pending_after=timedelta(0)) == 2
    finally:
        app.conf.task_always_eager = eager
    assert stranded in _queued_job_ids()
