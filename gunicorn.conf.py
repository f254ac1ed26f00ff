"""gunicorn settings for the api container (values from the environment)."""

import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "3"))
threads = int(os.environ.get("GUNICORN_THREADS", "2"))
# A worker stuck longer than this is killed and replaced: a slow dependency never hangs the API.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30
max_requests = 2000
max_requests_jitter = 200
accesslog = None  # our own JSON request line (techsupport.logging) replaces the access log
errorlog = "-"


def child_exit(server, worker):
    """Prometheus multiprocess mode: forget the samples of live gauges of a dead worker."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
