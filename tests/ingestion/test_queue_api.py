import uuid

import pytest

from ingestion.models import DeadLetter, ImportJob

pytestmark = pytest.mark.django_db


def dead_letter() -> DeadLetter:
    job = ImportJob.objects.create(filename="a.xlsx", stored_name="x", sha256="0" * 64, status="completed_with_errors")
    return DeadLetter.objects.create(
        job=job,
        chunk_no=0,
        task_name="ingestion.tasks.import_chunk_task",
        payload={"args": [str(job.pk), 0, 2, [None]], "kwargs": {"duplicates": None}},
        error="AutoReconnect: down",
    )


def test_queue_stats_with_eager_tasks(admin_client, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    dead_letter()

    response = admin_client.get("/api/queue/stats")

    assert response.status_code == 200
    assert response.json() == {
        "queues": {
            name: {"waiting": 0, "active": 0}
            for name in ("ingestion", "sla", "notifications", "projections", "default")
        },
        "deadLetter": 1,
    }


@pytest.mark.redis
def test_queue_stats_reads_waiting_messages_from_the_broker(admin_client, settings):
    import redis

    settings.CELERY_TASK_ALWAYS_EAGER = False
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.delete("ingestion")
    client.lpush("ingestion", "m1", "m2")
    try:
        body = admin_client.get("/api/queue/stats").json()
    finally:
        client.delete("ingestion")

    assert body["queues"]["ingestion"] == {"waiting": 2, "active": 0}
    assert body["deadLetter"] == 0


def test_queue_stats_when_the_broker_is_down_is_503(admin_client, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    from redis.exceptions import ConnectionError as RedisConnectionError

    from ingestion import selectors

    def down():
        raise RedisConnectionError("refused")

    import unittest.mock as mock

    with mock.patch.object(selectors, "queue_stats", side_effect=down):
        response = admin_client.get("/api/queue/stats")

    assert response.status_code == 503
    assert response.json()["code"] == "service_unavailable"


def test_dlq_list_is_paginated(admin_client, django_assert_num_queries):
    for _ in range(3):
        dead_letter()

    with django_assert_num_queries(3):  # user, count, page
        body = admin_client.get("/api/queue/dlq?pageSize=2").json()

    assert (body["total"], len(body["data"]), body["pageSize"]) == (3, 2, 2)


def test_retry_of_an_unknown_or_malformed_dead_letter(admin_client):
    assert admin_client.post(f"/api/queue/dlq/{uuid.uuid4()}/retry").json()["code"] == "dead_letter_not_found"
    assert admin_client.post("/api/queue/dlq/nope/retry").status_code == 400


@pytest.mark.parametrize(("who", "expected"), [("supervisor", 403), ("agent", 403), ("anonymous", 401)])
def test_queue_endpoints_are_admin_only(who, expected, supervisor_client, agent_client, api_client):
    client = {"supervisor": supervisor_client, "agent": agent_client, "anonymous": api_client}[who]
    letter = dead_letter()

    assert client.get("/api/queue/stats").status_code == expected
    assert client.get("/api/queue/dlq").status_code == expected
    assert client.post(f"/api/queue/dlq/{letter.pk}/retry").status_code == expected
    assert DeadLetter.objects.count() == 1


def test_queue_stats_on_the_local_file_broker_counts_waiting_files_and_asks_no_worker(
    admin_client, settings, tmp_path, monkeypatch
):
    # The file broker's broadcast replies would be left behind as files, one set per call.
    from celery import current_app
    from kombu import Connection

    from localmode.broker import transport_options

    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = "filesystem://localhost/"
    options = transport_options(tmp_path)
    local = Connection("filesystem://localhost/", transport="localmode.broker:Transport", transport_options=options)
    with local.Producer() as producer:
        producer.publish({"task": "t"}, routing_key="ingestion")
    monkeypatch.setattr(current_app, "connection_for_read", lambda: local.clone())
    monkeypatch.setattr(current_app.control, "inspect", lambda **_: pytest.fail("inspected the file broker"))

    body = admin_client.get("/api/queue/stats").json()

    assert body["queues"]["ingestion"] == {"waiting": 1, "active": 0}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["control", "queue", "taken"]
