import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.test import Client

from tests.tickets.factories import ClientFactory

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


def sample(text: str, name: str, **labels) -> float:
    """The value of one sample in Prometheus text format (0 when absent)."""
    wanted = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    for line in text.splitlines():
        match = re.match(rf"^{name}(?:\{{(.*)\}})? (\S+)$", line)
        if match and ",".join(sorted((match.group(1) or "").split(","))) == wanted:
            return float(match.group(2))
    return 0.0


def test_domain_counters_move_with_the_domain(admin_client, django_capture_on_commit_callbacks):
    client = ClientFactory(type="VIP")
    before = Client().get("/metrics").content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        created = admin_client.post(
            "/api/tickets",
            {"title": "Printer", "description": "Out of toner", "clientId": str(client.pk)},
            format="json",
        )
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.patch(f"/api/tickets/{created.json()['id']}/status", {"status": "IN_PROGRESS"}, format="json")

    after = Client().get("/metrics").content.decode()
    assert sample(after, "tickets_created_total", tier="VIP") - sample(before, "tickets_created_total", tier="VIP") == 1
    transitions = {"from_status": "OPEN", "to_status": "IN_PROGRESS"}
    assert (
        sample(after, "ticket_transitions_total", **transitions)
        - sample(before, "ticket_transitions_total", **transitions)
        == 1
    )
    assert sample(after, "dead_letters") == 0
    assert "sla_open_past_due_tickets" in after


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(url: str, timeout: float = 5) -> bytes:
    request = urllib.request.Request(url, headers={"Connection": "close"})  # noqa: S310 - loopback only
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - loopback only
        return response.read()


@pytest.mark.slow
def test_metrics_add_up_across_gunicorn_worker_processes(tmp_path):
    """Two gunicorn workers, each counting its own requests: /metrics reports their sum."""
    port = _free_port()
    env = {
        **os.environ,
        "DEBUG": "1",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "2",
        "GUNICORN_THREADS": "1",
    }
    env.pop("REDIS_URL", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--config", "gunicorn.conf.py"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                _get(f"{base}/health")
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

        # Concurrent batches until both workers have answered (each reports its pid), bounded.
        # Only these requests are counted: the readiness probes above are another view, so a
        # probe that timed out client-side but was served (and counted) cannot skew the sum; a
        # batch request that failed client-side fails the test instead of being miscounted.
        pids, requests = set(), 0
        with ThreadPoolExecutor(max_workers=8) as pool:
            while len(pids) < 2 and requests < 400:
                bodies = list(pool.map(lambda _: _get(f"{base}/health/metrics", timeout=60), range(16)))
                pids.update(json.loads(body)["pid"] for body in bodies)
                requests += len(bodies)
        assert len(pids) == 2, "gunicorn never spread requests over both workers"

        text = _get(f"{base}/metrics").decode()
        served = sample(
            text,
            "django_http_responses_total_by_status_view_method_total",
            method="GET",
            status="200",
            view="health-metrics",
        )
        assert served == requests
    finally:
        server.terminate()
        server.wait(timeout=10)
