"""Load test: N concurrent clients for T seconds against gunicorn on PostgreSQL + Redis, then a
check that no acknowledged write was lost.

    .venv/bin/python benchmarks/load.py [--clients 50] [--seconds 60] [--port 8090]

Creates its own database (`techsupport_load` on LOAD_PG, default postgres://postgres@127.0.0.1:5432),
migrates it, seeds users and clients, starts `gunicorn config.wsgi -w 3 --threads 2` (DEBUG=0) on
127.0.0.1:PORT with Redis database LOAD_REDIS_DB (default 10) as broker/cache, and runs client
threads (plain `requests`, one session each) that mix: login, list with filters, create, status
changes and assignment. Rate limits are raised for the run (API_RATE_LIMIT, LOGIN_RATE_LIMIT_*):
a 50-client test from one IP is not what they guard against.

Afterwards it compares what clients were told with the database: every 201 ticket id must
exist, and every 200 status change must have its `status_changed` event. Prints Markdown for
docs/reliability.md. Bounded: stops after --seconds; each request has a 30 s timeout.
"""

import argparse
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

import psycopg
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LOAD_PG = os.environ.get("LOAD_PG", "postgres://postgres@127.0.0.1:5432")
LOAD_DB = os.environ.get("LOAD_DB", "techsupport_load")
REDIS_URL = f"redis://127.0.0.1:6379/{os.environ.get('LOAD_REDIS_DB', '10')}"
PASSWORD = "Load-Test-Pass-42"
SUPERVISORS, AGENTS, CLIENTS = 10, 20, 50


def environment(port: int) -> dict:
    from benchmarks.docstore import ensure_mongo_url

    mongo_url = ensure_mongo_url("techsupport_load")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "REDIS_URL", "MONGO_URL"))}
    env.update(
        DATABASE_URL=f"{LOAD_PG}/{LOAD_DB}",
        REDIS_URL=REDIS_URL,
        MONGO_URL=mongo_url,
        DEBUG="0",
        DJANGO_SETTINGS_MODULE="config.settings",
        SECRET_KEY="load-test-only-secret-key-long-enough-for-hs256",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="0",
        LOG_LEVEL="WARNING",
        API_RATE_LIMIT="10000000/m",
        LOGIN_RATE_LIMIT_EMAIL="10000000/m",
        LOGIN_RATE_LIMIT_IP="10000000/m",
        GUNICORN_BIND=f"127.0.0.1:{port}",
        STATIC_ROOT=str(ROOT / "var" / "load-static"),
    )
    return env


def prepare(env: dict) -> dict:
    """Fresh database, migrated and seeded. Returns ids the clients need."""
    with psycopg.connect(f"{LOAD_PG}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{LOAD_DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{LOAD_DB}"')
    py = str(ROOT / ".venv" / "bin" / "python")
    subprocess.run([py, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    os.environ.update(env)
    import django

    django.setup()
    from accounts.models import User
    from accounts.roles import Role
    from tickets.models import Client

    hashed = User(email="x@example.com")
    hashed.set_password(PASSWORD)
    users = [
        User(email=f"sup{n}@load.test", role=Role.SUPERVISOR, password=hashed.password) for n in range(SUPERVISORS)
    ]
    users += [
        User(email=f"agent{n}@load.test", role=Role.AGENT, level=1 + n % 3, password=hashed.password)
        for n in range(AGENTS)
    ]
    for user in users:
        user.save()
    clients = Client.objects.bulk_create(
        Client(name=f"Client {n}", email=f"c{n}@load.test", type="VIP" if n % 5 == 0 else "NORMAL")
        for n in range(CLIENTS)
    )
    return {
        "supervisors": [u.email for u in users if u.role == Role.SUPERVISOR],
        "agents": [(u.email, str(u.pk)) for u in users if u.role == Role.AGENT],
        "clients": [str(c.pk) for c in clients],
    }


class Recorder:
    def __init__(self):
        self.lock = threading.Lock()
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.statuses: Counter = Counter()
        self.created: list[str] = []
        self.status_changes: list[tuple[str, str]] = []  # (ticket id, to status) answered 200
        self.errors: Counter = Counter()

    def add(self, name: str, started: float, response):
        elapsed = time.perf_counter() - started
        with self.lock:
            self.latencies[name].append(elapsed)
            self.statuses[(name, response.status_code if response is not None else "exception")] += 1


def client_loop(base: str, who: str, seed: dict, recorder: Recorder, deadline: float, rnd: random.Random):
    session = requests.Session()
    my_tickets: list[tuple[str, str]] = []  # (id, status) created by this client

    def call(name, method, path, **kwargs):
        started = time.perf_counter()
        try:
            response = session.request(method, f"{base}{path}", timeout=30, **kwargs)
        except requests.RequestException as exc:
            recorder.add(name, started, None)
            with recorder.lock:
                recorder.errors[f"{name}: {type(exc).__name__}"] += 1
            return None
        recorder.add(name, started, response)
        return response

    def login():
        response = call("POST /api/auth/login", "POST", "/api/auth/login", json={"email": who, "password": PASSWORD})
        if response is not None and response.status_code == 200:
            session.headers["Authorization"] = f"Bearer {response.json()['accessToken']}"

    login()
    supervisor = who.startswith("sup")
    while time.monotonic() < deadline:
        roll = rnd.random()
        if roll < 0.01:
            login()
        elif roll < 0.45:
            params = rnd.choice(
                [
                    {"status": "OPEN"},
                    {"clientType": "VIP", "pageSize": 50},
                    {"priority": rnd.randint(1, 5), "status": "IN_PROGRESS"},
                    {"clientId": rnd.choice(seed["clients"])},
                    {"page": rnd.randint(1, 5)},
                ]
            )
            call("GET /api/tickets?filters", "GET", "/api/tickets", params=params)
        elif roll < 0.70 or not my_tickets:
            response = call(
                "POST /api/tickets",
                "POST",
                "/api/tickets",
                json={
                    "title": f"Load ticket {rnd.randint(0, 10**9)}",
                    "description": "Created by benchmarks/load.py",
                    "clientId": rnd.choice(seed["clients"]),
                    "priority": rnd.randint(1, 5),
                },
            )
            if response is not None and response.status_code == 201:
                ticket_id = response.json()["id"]
                with recorder.lock:
                    recorder.created.append(ticket_id)
                my_tickets.append((ticket_id, "OPEN"))
        elif roll < 0.85 and supervisor:
            index = rnd.randrange(len(my_tickets))
            ticket_id, current = my_tickets[index]
            target = {"OPEN": "IN_PROGRESS", "IN_PROGRESS": "RESOLVED", "RESOLVED": "CLOSED"}.get(current)
            if target is None:
                continue
            response = call(
                "PATCH /api/tickets/{id}/status", "PATCH", f"/api/tickets/{ticket_id}/status", json={"status": target}
            )
            if response is not None and response.status_code == 200:
                my_tickets[index] = (ticket_id, target)
                with recorder.lock:
                    recorder.status_changes.append((ticket_id, target))
        elif supervisor:
            ticket_id, _ = rnd.choice(my_tickets)
            call(
                "PATCH /api/tickets/{id}/assign",
                "PATCH",
                f"/api/tickets/{ticket_id}/assign",
                json={"agentId": rnd.choice(seed["agents"])[1]},
            )
        else:
            ticket_id, _ = rnd.choice(my_tickets)
            call("GET /api/tickets/{id}", "GET", f"/api/tickets/{ticket_id}")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def verify(recorder: Recorder) -> dict:
    from tickets.models import Ticket, TicketEvent

    created = set(recorder.created)
    existing = {str(pk) for pk in Ticket.objects.filter(pk__in=created).values_list("pk", flat=True)}
    events = Counter(
        (str(ticket_id), to_status)
        for ticket_id, to_status in TicketEvent.objects.filter(
            kind="status_changed", ticket_id__in=created
        ).values_list("ticket_id", "to_status")
    )
    told = Counter(recorder.status_changes)
    missing_events = sum(max(0, n - events[key]) for key, n in told.items())
    return {
        "tickets_acknowledged": len(created),
        "tickets_missing": len(created - existing),
        "status_changes_acknowledged": sum(told.values()),
        "status_events_missing": missing_events,
        "tickets_in_db": Ticket.objects.count(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--port", type=int, default=8090)
    args = parser.parse_args()

    env = environment(args.port)
    seed = prepare(env)
    log = open(ROOT / "var" / "load-gunicorn.log", "wb")  # noqa: SIM115 - closed at the end
    server = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "config.wsgi",
            "-c",
            "gunicorn.conf.py",
            "-w",
            "3",
            "--threads",
            "2",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{args.port}"
    try:
        for _ in range(300):
            try:
                if requests.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.1)
        else:
            print("gunicorn did not start; see var/load-gunicorn.log")
            return 1
        recorder = Recorder()
        users = seed["supervisors"] + [email for email, _ in seed["agents"]]
        started = time.monotonic()
        deadline = started + args.seconds
        threads = [
            threading.Thread(
                target=client_loop,
                args=(base, users[n % len(users)], seed, recorder, deadline, random.Random(n)),
                daemon=True,
            )
            for n in range(args.clients)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=args.seconds + 60)
        wall = time.monotonic() - started
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()

    total = sum(len(v) for v in recorder.latencies.values())
    server_errors = sum(
        n for (name, status), n in recorder.statuses.items() if isinstance(status, int) and status >= 500
    )
    checks = verify(recorder)
    print(f"\n{args.clients} clients, {wall:.0f} s, {total} requests, {total / wall:.0f} req/s, 5xx: {server_errors}\n")
    print("| endpoint | requests | p50 ms | p95 ms | p99 ms | statuses |")
    print("|---|---|---|---|---|---|")
    for name in sorted(recorder.latencies):
        values = recorder.latencies[name]
        statuses = ", ".join(f"{s}: {n}" for (e, s), n in sorted(recorder.statuses.items(), key=str) if e == name)
        print(
            f"| {name} | {len(values)} | {percentile(values, 0.5) * 1000:.0f} | {percentile(values, 0.95) * 1000:.0f} "
            f"| {percentile(values, 0.99) * 1000:.0f} | {statuses} |"
        )
    if recorder.errors:
        print("\nclient-side errors:", dict(recorder.errors))
    print("\nwrites:", checks)
    print(
        f"mean latency overall: {statistics.fmean(v for vs in recorder.latencies.values() for v in vs) * 1000:.0f} ms"
    )
    lost = checks["tickets_missing"] + checks["status_events_missing"]
    return 0 if server_errors == 0 and lost == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
