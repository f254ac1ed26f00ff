"""Workers keep their PostgreSQL connection across tasks (CELERY_DB_REUSE_MAX) and check it
before each task like Django does before a request (config/celery.py)."""

import time
from types import SimpleNamespace

import pytest
from celery.contrib.testing.worker import start_worker
from celery.fixups.django import DjangoFixup, DjangoWorkerFixup
from django.db import connection

import config.celery
import config.settings
from config.celery import app

backend_pids: list[int] = []


@app.task(name="tests.record_backend_pid_task")
def record_backend_pid_task():
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend_pids.append(cursor.fetchone()[0])


def _task(*, eager: bool):
    return SimpleNamespace(request=SimpleNamespace(is_eager=eager))


def test_celery_fixup_reuses_connections_instead_of_closing_them_around_every_task(settings):
    assert config.settings.CELERY_DB_REUSE_MAX == 1000  # production default (tests set 0)
    settings.CELERY_DB_REUSE_MAX = config.settings.CELERY_DB_REUSE_MAX

    assert DjangoWorkerFixup(app).db_reuse_max == 1000


def test_a_worker_task_checks_connections_like_a_request(monkeypatch):
    calls = []
    monkeypatch.setattr("django.db.close_old_connections", lambda: calls.append("checked"))

    config.celery._recycle_db_connections(task=_task(eager=False))

    assert calls == ["checked"]


def test_an_eager_task_leaves_its_callers_connection_alone(monkeypatch):
    calls = []
    monkeypatch.setattr("django.db.close_old_connections", lambda: calls.append("checked"))

    config.celery._recycle_db_connections(task=_task(eager=True))

    assert calls == []


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_consecutive_tasks_in_a_worker_share_one_postgresql_session(monkeypatch):
    # The process's worker fixup read CELERY_DB_REUSE_MAX (0 in test settings) when first made.
    fixup = next(f for f in app._fixups if isinstance(f, DjangoFixup)).worker_fixup
    monkeypatch.setattr(fixup, "db_reuse_max", 1000)
    backend_pids.clear()
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    try:
        with start_worker(app, pool="solo", queues=["default"], perform_ping_check=False, shutdown_timeout=10):
            for _ in range(3):
                record_backend_pid_task.delay()
            deadline = time.monotonic() + 20
            while len(backend_pids) < 3 and time.monotonic() < deadline:
                time.sleep(0.05)
    finally:
        app.conf.task_always_eager = eager
        # The in-thread worker's reused session outlives the worker (a pool process would end
        # it by exiting); end it so the test database can be dropped.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid = ANY(%s)", [backend_pids])

    assert len(backend_pids) == 3
    assert len(set(backend_pids)) == 1
