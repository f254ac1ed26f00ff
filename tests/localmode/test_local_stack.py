"""Local mode as `make run` runs it: separate processes — the web server, a Celery
worker on the local file broker, `manage.py` commands "in a second terminal" — on one SQLite file
and one document server. What one process writes, the others see."""

import os
import subprocess
import sys
import threading
from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone
from pymongo import MongoClient

from tests.faults.harness import BIN, ROOT, wait_for
from tests.ingestion.workbooks import ticket_row, workbook_bytes
from tests.localmode.stack import local_stack

ADMIN = ("admin@stack.example", "Stack-Admin-Pass-1")
DOCUMENT_DB = "techsupport_localstack_test"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """Web server + worker in local mode (DEBUG on, no REDIS_URL: the file broker)."""
    with local_stack(tmp_path_factory.mktemp("localstack"), document_db=DOCUMENT_DB, admin=ADMIN) as running:
        yield running


def _manage(stack, *args, timeout=120) -> subprocess.CompletedProcess:
    """A management command in "another terminal" of the same checkout."""
    command = [sys.executable, "manage.py", *args]
    return subprocess.run(command, cwd=ROOT, env=stack["env"], capture_output=True, text=True, timeout=timeout)


def _finished_job(stack, process_id: str) -> dict:
    def finished():
        body = stack["http"].get(f"{stack['base']}/api/files/status/{process_id}", timeout=10).json()
        return body if body["status"] not in ("pending", "processing") else None

    return wait_for(finished, timeout=120, interval=0.5, what="the worker to finish the import")


def test_an_upload_answers_at_once_and_the_local_worker_imports_it(stack):
    rows = [ticket_row(n) for n in range(1500)]

    response = stack["http"].post(
        f"{stack['base']}/api/files/upload",
        files={"file": ("history.xlsx", workbook_bytes(rows))},
        timeout=30,
    )

    assert response.status_code == 202
    assert response.json()["status"] == "pending"  # processing happens in the worker process
    job = _finished_job(stack, response.json()["processId"])
    assert (job["status"], job["total"], job["processed"], job["failed"]) == ("completed", 1500, 1500, 0)
    with MongoClient(stack["mongo_url"]) as client:
        assert client[DOCUMENT_DB]["ticket_logs"].count_documents({"importJobId": job["processId"]}) == 1500


def test_import_tickets_in_another_process_and_the_servers_reports_agree(stack, tmp_path):
    path = tmp_path / "other-terminal.xlsx"
    path.write_bytes(workbook_bytes([ticket_row(n, tipo_cliente="VIP") for n in range(5000, 5600)]))

    result = _manage(stack, "import_tickets", str(path), "--timeout", "120")

    assert result.returncode == 0, result.stderr
    assert ": completed" in result.stdout
    report = stack["http"].get(f"{stack['base']}/api/reports/avg-resolution?clientType=VIP", timeout=10).json()
    with MongoClient(stack["mongo_url"]) as client:
        vip_logs = client[DOCUMENT_DB]["ticket_logs"].count_documents({"clientType": "VIP"})
    assert report["data"][0]["tickets"] == vip_logs >= 600


def test_an_sla_sweep_run_from_another_process_reaches_the_servers_reports(stack):
    http, base = stack["http"], stack["base"]
    client = http.post(f"{base}/api/clients", json={"name": "Acme", "email": "ops@acme.example", "type": "VIP"})
    ticket = http.post(
        f"{base}/api/tickets", json={"title": "Down", "description": "All down", "clientId": client.json()["id"]}
    )
    created = ticket.json()["createdAt"]
    late = (timezone.now() + timedelta(hours=3)).isoformat()

    result = _manage(stack, "sla_sweep", "--now", late)

    assert result.returncode == 0, result.stderr
    assert "escalations:       1 (level 1: 1)" in result.stdout
    assert http.get(f"{base}/api/tickets/{ticket.json()['id']}").json()["status"] == "ESCALATED"

    def escalated_in_reports():
        rows = http.get(f"{base}/api/reports/escalated-per-month?from={created[:10]}", timeout=10).json()["data"]
        return rows if rows else None

    rows = wait_for(escalated_in_reports, timeout=60, interval=0.5, what="the projection to reach the reports")
    assert [row["escalated"] for row in rows] == [1]


def test_sla_sweep_prints_its_summary_only_and_the_worker_sends_the_mail(stack):
    # The command used to print every console email (~100 lines) before its summary: deliveries
    # now go through the broker to the worker, which writes the mail to files, not to its log.
    http, base = stack["http"], stack["base"]
    supervisor = {"email": "watcher@stack.example", "password": "Watcher-Pass-77", "role": "SUPERVISOR"}
    assert http.post(f"{base}/api/auth/register", json=supervisor).status_code == 201
    client = http.post(f"{base}/api/clients", json={"name": "Mailer", "email": "m@acme.example", "type": "VIP"})
    for n in range(3):
        http.post(
            f"{base}/api/tickets", json={"title": f"Late {n}", "description": "x" * 5, "clientId": client.json()["id"]}
        )

    result = _manage(stack, "sla_sweep", "--now", (timezone.now() + timedelta(hours=3)).isoformat())

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("SLA sweep as of") and len(lines) == 8, result.stdout
    assert "Subject:" not in result.stdout + result.stderr
    mail = stack["folder"] / "mail"

    def delivered():
        return any("watcher@stack.example" in path.read_text(errors="replace") for path in mail.glob("*.log"))

    wait_for(delivered, timeout=60, what="the worker's mail in the mail folder")
    assert "watcher@stack.example" not in (stack["folder"] / "worker.log").read_text(errors="replace")


def test_concurrent_changes_to_one_ticket_get_409_not_database_is_locked(stack):
    http, base = stack["http"], stack["base"]
    client = http.post(f"{base}/api/clients", json={"name": "Busy", "email": "busy@acme.example", "type": "NORMAL"})
    ticket_id = http.post(
        f"{base}/api/tickets", json={"title": "Race", "description": "Fifty at once", "clientId": client.json()["id"]}
    ).json()["id"]
    statuses: list[int] = []
    start = threading.Barrier(50)

    def change():
        start.wait()
        response = http.patch(f"{base}/api/tickets/{ticket_id}/status", json={"status": "IN_PROGRESS"}, timeout=60)
        statuses.append(response.status_code)

    threads = [threading.Thread(target=change) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert Counter(statuses) == {200: 1, 409: 49}
    events = http.get(f"{base}/api/tickets/{ticket_id}/events").json()["data"]
    assert [(event["fromStatus"], event["toStatus"]) for event in events if event["kind"] == "status_changed"] == [
        ("OPEN", "IN_PROGRESS")
    ]


@pytest.mark.parametrize("url", ["REDIS_URL", "DATABASE_URL"])
def test_a_process_with_a_service_url_but_no_mongo_url_refuses_to_start(url):
    env = {key: value for key, value in os.environ.items() if key not in ("MONGO_URL", "DATABASE_URL", "REDIS_URL")}
    env.update(DJANGO_SETTINGS_MODULE="config.settings", DEBUG="0", SECRET_KEY="k" * 50, MONGO_URL="")
    env[url] = "redis://127.0.0.1:6379/9" if url == "REDIS_URL" else "postgres://postgres@127.0.0.1:5432/none"

    for command in ([sys.executable, "manage.py", "check"], [str(BIN / "celery"), "-A", "config", "inspect", "ping"]):
        result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)

        assert result.returncode != 0
        assert "MONGO_URL must be set when DATABASE_URL or REDIS_URL is set" in result.stderr
