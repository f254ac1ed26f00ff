"""The Celery app. Queues and routes are in settings (CELERY_TASK_QUEUES, CELERY_TASK_ROUTES)."""

import os

from celery import Celery
from celery.signals import (
    before_task_publish,
    task_postrun,
    task_prerun,
    worker_process_init,
    worker_process_shutdown,
    worker_ready,
    worker_shutdown,
)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("techsupport")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@before_task_publish.connect
def _propagate_request_id(headers=None, **kwargs):
    """The request id of the request that enqueued a task travels with it into the worker."""
    from techsupport.logging import current_request_id

    request_id = current_request_id()
    if request_id and headers is not None:
        headers.setdefault("request_id", request_id)


@task_prerun.connect
def _bind_task_context(task_id=None, task=None, **kwargs):
    """Task log lines carry task name, task id and the request id of the enqueuing request.
    An eager task (tests) runs inside that request: its context is kept."""
    import structlog

    if task is not None and task.request.is_eager:
        structlog.contextvars.bind_contextvars(task_id=task_id, task_name=task.name)
        return
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(
        task_id=task_id,
        task_name=task.name if task else None,
        request_id=getattr(task.request, "request_id", None) if task else None,
    )


@task_prerun.connect
def _recycle_db_connections(task=None, **kwargs):
    """CELERY_DB_REUSE_MAX keeps DB connections across tasks; before each task they get what
    Django gives them before a request: closed if broken (errors, a session the server ended)
    or older than CONN_MAX_AGE, so a task after a PostgreSQL restart reconnects instead of
    failing. Eager tasks run inside their caller's transaction: left alone, as Celery's fixup
    does."""
    if task is not None and task.request.is_eager:
        return
    from django.db import close_old_connections

    from techsupport.db_connections import close_dropped_connections

    close_old_connections()
    close_dropped_connections()


@worker_shutdown.connect
def _close_db_connections(**kwargs):
    """The reused sessions end with the worker (sent in the worker's own thread, which matters
    for in-thread test workers; pool processes' sessions end with the processes)."""
    from django.db import connections

    connections.close_all()


@task_postrun.connect
def _unbind_task_context(task=None, **kwargs):
    import structlog

    if task is not None and task.request.is_eager:
        structlog.contextvars.unbind_contextvars("task_id", "task_name")
    else:
        structlog.contextvars.clear_contextvars()


@worker_ready.connect
def _start_metrics_exporter(**kwargs):
    """Workers' metrics reach Prometheus through their own port (CELERY_METRICS_PORT, e.g. 9808):
    the main process serves the samples its pool processes write to PROMETHEUS_MULTIPROC_DIR."""
    port = os.environ.get("CELERY_METRICS_PORT")
    if port:
        from prometheus_client import start_http_server

        from techsupport.metrics import process_registry

        start_http_server(int(port), registry=process_registry())


@worker_process_init.connect
def _freeze_inherited_objects(**kwargs):
    """What a pool process inherits from the fork (Django, Celery, the task modules: ~170k
    objects) never becomes garbage: frozen, the cyclic collector stops walking it in each full
    collection, which tasks that allocate many objects trigger (ingestion, Redis + 2 workers:
    0.23 → 0.04 CPU-s of collection per 100k rows)."""
    import gc

    gc.freeze()


@worker_process_shutdown.connect
def _forget_dead_process_metrics(pid=None, **kwargs):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR") and pid:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)
