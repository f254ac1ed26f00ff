"""gunicorn settings for the api container (values from the environment)."""

import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "3"))
threads = int(os.environ.get("GUNICORN_THREADS", "2"))
# Request limits (gunicorn's defaults, stated; README "HTTP limits"): a longer request line is
# 414, a longer header line or more header fields 431 — JSON, before Django is involved.
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190
# A worker stuck longer than this is killed and replaced: a slow dependency never hangs the API.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30
# Recycling is a guard against slow leaks, not a routine: a worker boot costs ~0.9 CPU-s, and at
# 2000 requests per worker a busy API spent 13 % of its CPU booting workers (issue 13). Jitter
# keeps the workers from recycling together.
max_requests = 100_000
max_requests_jitter = 20_000
accesslog = None  # our own JSON request line (techsupport.logging) replaces the access log
errorlog = "-"


def post_fork(server, worker):
    """Requests gunicorn refuses itself (bad bytes, limits above) get the API's JSON error
    shape, not its HTML page, whatever the worker class (techsupport/gunicorn_errors.py)."""
    from techsupport.gunicorn_errors import json_errors_install

    json_errors_install()


def child_exit(server, worker):
    """Prometheus multiprocess mode: forget the samples of live gauges of a dead worker."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
