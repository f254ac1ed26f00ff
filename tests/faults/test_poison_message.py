"""A message that kills its worker process on every delivery (what a poison workbook did to
calamine before ingestion/xlsx_prescan.py: SIGABRT from the Rust allocator). acks_late +
reject_on_worker_lost hand it back after each death; without a bound it would kill fresh worker
processes forever. The deliveries are counted in PostgreSQL, so after
INGESTION_MAX_WORKER_CRASHES deaths the next delivery fails the job (`worker_crashed`) instead.

Real Redis broker, real PostgreSQL, a real prefork worker (one child): the child kills itself
with SIGKILL, the worker replaces it and the message comes back at once."""

import pytest
import redis
from django.conf import settings

from ingestion.models import ImportJob, TaskDelivery
from tests.faults.conftest import database_url
from tests.faults.harness import service_env, start_worker, stop, wait_for

pytestmark = [pytest.mark.faults, pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def test_a_message_that_kills_its_worker_fails_the_job_after_three_deaths(tmp_path):
    from config.celery import app
    from tests.faults.crash_tasks import killer_split_task

    client = redis.Redis.from_url(settings.REDIS_URL)
    client.delete("ingestion", "unacked", "unacked_index", "unacked_mutex")
    client.close()
    job = ImportJob.objects.create(filename="poison.xlsx", stored_name="imports/none.xlsx", sha256="0" * 64)
    env = service_env(database_url=database_url(), redis_url=settings.REDIS_URL, INGESTION_MAX_WORKER_CRASHES="3")
    log = tmp_path / "worker.log"
    worker = start_worker(env, log=log, pool="prefork", include="tests.faults.crash_tasks")
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    try:
        killer_split_task.apply_async(args=[str(job.pk)], queue="ingestion")
        wait_for(
            lambda: ImportJob.objects.filter(pk=job.pk, status="failed").exists(),
            timeout=90,
            what="the job to fail",
        )
        assert worker.poll() is None, "the worker itself survives its children"
    finally:
        app.conf.task_always_eager = eager
        stop(worker)

    job.refresh_from_db()
    assert (job.status, job.error_code) == ("failed", "worker_crashed")
    assert "died 3 times" in job.error_message
    assert not TaskDelivery.objects.exists()
    assert log.read_text().count("exited with 'signal 9 (SIGKILL)'") == 3
