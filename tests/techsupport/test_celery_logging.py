"""Task log lines carry the task's name and id and the request id of the request that
enqueued them — through the real Redis broker, and when run eagerly (tests)."""

import time

import pytest
import structlog
from celery.contrib.testing.worker import start_worker

from config.celery import app

seen: list[dict] = []


@app.task(name="tests.capture_log_context_task")
def capture_log_context_task():
    seen.append(dict(structlog.contextvars.get_contextvars()))


@pytest.fixture(autouse=True)
def _clear_seen():
    seen.clear()
    structlog.contextvars.clear_contextvars()
    yield
    structlog.contextvars.clear_contextvars()


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_request_id_travels_through_the_broker_to_the_worker():
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    try:
        with start_worker(app, pool="solo", queues=["default"], perform_ping_check=False, shutdown_timeout=10):
            structlog.contextvars.bind_contextvars(request_id="req-from-api")
            result = capture_log_context_task.delay()
            structlog.contextvars.clear_contextvars()
            deadline = time.monotonic() + 20
            while not seen and time.monotonic() < deadline:
                time.sleep(0.05)
    finally:
        app.conf.task_always_eager = eager

    assert seen == [{"task_id": result.id, "task_name": "tests.capture_log_context_task", "request_id": "req-from-api"}]


def test_eager_task_keeps_the_request_context():
    structlog.contextvars.bind_contextvars(request_id="req-embedded")

    capture_log_context_task.apply()

    assert seen[0]["request_id"] == "req-embedded"
    assert seen[0]["task_name"] == "tests.capture_log_context_task"
    assert structlog.contextvars.get_contextvars() == {"request_id": "req-embedded"}
