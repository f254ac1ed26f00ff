"""Tickets API and admin changelist at 1,000,000 tickets on PostgreSQL.

    .venv/bin/python benchmarks/tickets_api.py [--tickets 1000000] [--runs 40] [--refill]

Creates its own database (`techsupport_bench` on BENCH_PG, default
postgres://postgres@127.0.0.1:5432), migrates it, fills it with COPY (clients, agents, tickets)
unless it already holds the requested number of tickets, VACUUM ANALYZEs it, then measures
requests through Django's test client (the whole middleware/DRF stack, no network): p50/p95
latency and SQL queries per request. Not a test: it prints a Markdown table for
docs/benchmarks.md.
"""

import argparse
import os
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BENCH_PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
BENCH_DB = os.environ.get("BENCH_DB", "techsupport_bench")

# A desk that has run for a year: most tickets are closed; the open ones are recent.
STATUSES = ["OPEN", "IN_PROGRESS", "RESOLVED", "CLOSED", "ESCALATED"]
STATUS_WEIGHTS = [4, 6, 6, 82, 2]
RUNNING_SPAN_S = 7 * 24 * 3600
RESOLUTION_MINUTES = {"VIP": (10, 240, 60), "NORMAL": (20, 2880, 360)}  # triangular (low, high, mode)
N_CLIENTS = 10_000
N_AGENTS = 60
WHALE_SHARE = 0.02  # one big client holds 2 % of the tickets, so its page 500 exists


def database_ensure() -> None:
    with psycopg.connect(f"{BENCH_PG}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [BENCH_DB]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{BENCH_DB}"')


def django_setup() -> None:
    from benchmarks.docstore import ensure_mongo_url

    ensure_mongo_url("techsupport_bench")
    os.environ["DATABASE_URL"] = f"{BENCH_PG}/{BENCH_DB}"
    os.environ.setdefault("SECRET_KEY", "benchmark-only-secret-key-long-enough-for-hs256")
    os.environ["DEBUG"] = "0"
    os.environ["ALLOWED_HOSTS"] = "testserver"
    os.environ["SECURE_SSL_REDIRECT"] = "0"
    os.environ["RATELIMIT_ENABLE"] = "0"  # measuring the endpoint, not the limiter
    os.environ["LOG_LEVEL"] = "WARNING"
    # Production static storage (manifest) for the admin pages: collected once, outside the repo's var/static.
    os.environ["STATIC_ROOT"] = str(ROOT / "var" / "bench-static")
    os.environ.pop("REDIS_URL", None)
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "1"  # no broker: measured requests publish nothing
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    import django

    django.setup()


def fill(n_tickets: int) -> dict:
    """COPY clients, agents and tickets; returns ids the measurements need."""
    from django.contrib.auth.hashers import make_password
    from django.db import connection

    rng = random.Random(42)
    now = datetime.now(UTC)
    cur = connection.cursor().cursor  # the psycopg cursor under Django's wrapper
    cur.execute("SET statement_timeout = 0")  # the bulk load only; requests keep the app's timeout
    cur.execute("TRUNCATE tickets_ticketevent, tickets_ticket, tickets_client CASCADE")
    cur.execute("TRUNCATE accounts_user CASCADE")  # the bench database holds only bench users

    password = make_password("Bench-Pass-2024")
    agents = []
    with cur.copy(
        "COPY accounts_user (id, email, name, role, level, is_active, is_staff, is_superuser, password, created_at,"
        " token_version, accepts_auto_assignment) FROM STDIN"
    ) as copy:
        for n in range(N_AGENTS):
            agent_id = uuid.uuid4()
            agents.append(agent_id)
            copy.write_row(
                [
                    agent_id,
                    f"bench-agent{n}@example.com",
                    f"Agent {n}",
                    "AGENT",
                    n % 3 + 1,
                    True,
                    False,
                    False,
                    password,
                    now,
                    0,
                    True,
                ]
            )
        admin_id = uuid.uuid4()
        copy.write_row(
            [admin_id, "bench-admin@example.com", "Bench admin", "ADMIN", 1, True, True, True, password, now, 0, False]
        )

    clients = []
    with cur.copy("COPY tickets_client (id, name, email, type, company, created_at) FROM STDIN") as copy:
        for n in range(N_CLIENTS):
            client_id = uuid.uuid4()
            tier = "VIP" if n % 5 == 0 else "NORMAL"
            clients.append((client_id, tier))
            copy.write_row([client_id, f"Client {n}", f"client{n}@bench.example", tier, f"Company {n % 700}", now])

    whale = clients[0]
    hours = {"VIP": 2.0, "NORMAL": 24.0}
    columns = (
        "id, title, description, status, priority, client_id, client_type, agent_id, escalation_level, created_at,"
        " updated_at, resolved_at, resolution_time_min, deleted_at, sla_due_at, sla_breached_at, sla_next_check_at,"
        " version, sla_warning_at"
    )
    started = time.perf_counter()
    span = 365 * 24 * 3600
    with cur.copy(f"COPY tickets_ticket ({columns}) FROM STDIN") as copy:
        for n in range(n_tickets):
            client_id, tier = whale if rng.random() < WHALE_SHARE else clients[rng.randrange(N_CLIENTS)]
            status = rng.choices(STATUSES, STATUS_WEIGHTS)[0]
            running = status not in ("RESOLVED", "CLOSED")
            created = now - timedelta(seconds=rng.randrange(RUNNING_SPAN_S if running else span))
            due = created + timedelta(hours=hours[tier])
            resolved = minutes = breached = None
            if not running:
                low, high, mode = RESOLUTION_MINUTES[tier]
                resolved = min(now, created + timedelta(minutes=rng.triangular(low, high, mode)))
                minutes = round((resolved - created).total_seconds() / 60, 2)
                breached = due if resolved > due else None
                next_check = None
            else:
                breached = due if now > due else None
                next_check = None if breached else created + (due - created) * 0.8
            escalation = rng.randint(1, 3) if status == "ESCALATED" else 0
            agent = None if status == "OPEN" else agents[rng.randrange(N_AGENTS)]
            deleted = now if n % 1000 == 999 else None  # 0.1 % soft-deleted
            copy.write_row(
                [
                    uuid.uuid4(),
                    f"Ticket {n}",
                    "Benchmark ticket",
                    status,
                    rng.randint(1, 5),
                    client_id,
                    tier,
                    agent,
                    escalation,
                    created,
                    created,
                    resolved,
                    minutes,
                    deleted,
                    due,
                    breached,
                    next_check,
                    1,
                    created + (due - created) * 0.8,
                ]
            )
    print(f"COPY of {n_tickets:,} tickets: {time.perf_counter() - started:.1f} s", flush=True)
    cur.execute("RESET statement_timeout")
    return {"admin": admin_id, "whale": whale[0], "client": clients[1][0]}


def vacuum() -> None:
    # VACUUM sets the visibility map, so counts can be index-only scans (as on a settled table).
    with psycopg.connect(f"{BENCH_PG}/{BENCH_DB}", autocommit=True) as conn:
        started = time.perf_counter()
        conn.execute("VACUUM ANALYZE")
        print(f"VACUUM ANALYZE: {time.perf_counter() - started:.1f} s", flush=True)


def measure(client, url: str, runs: int) -> tuple[float, float, int, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(3):  # warm-up: connection, caches, plans
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code, response.content[:300])
    timings, queries = [], set()
    for _ in range(runs):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(url)
            timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
        queries.add(len(captured.captured_queries))
    timings.sort()
    p95 = timings[min(len(timings) - 1, round(0.95 * len(timings)) - 1)]
    return statistics.median(timings), p95, min(queries), max(queries)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--refill", action="store_true")
    args = parser.parse_args()

    database_ensure()
    django_setup()
    from django.core.management import call_command
    from django.test import Client
    from rest_framework_simplejwt.tokens import RefreshToken

    from accounts.models import User
    from tickets.models import Client as TicketClient
    from tickets.models import Ticket

    call_command("migrate", verbosity=0)
    if not (ROOT / "var" / "bench-static" / "staticfiles.json").exists():
        call_command("collectstatic", interactive=False, verbosity=0)
    have = Ticket.objects.count()
    if args.refill or have != args.tickets or not User.objects.filter(email="bench-admin@example.com").exists():
        fill(args.tickets)
        vacuum()
    admin = User.objects.get(email="bench-admin@example.com")
    whale = TicketClient.objects.get(email="client0@bench.example").pk
    small = TicketClient.objects.get(email="client1@bench.example").pk
    api = Client(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(admin).access_token}")
    browser = Client()
    browser.force_login(admin)

    cases = [
        ("API", "no filter, page 1", "/api/tickets"),
        ("API", "no filter, page 500", "/api/tickets?page=500"),
        ("API", "status=IN_PROGRESS, page 1", "/api/tickets?status=IN_PROGRESS"),
        ("API", "status=IN_PROGRESS, page 500", "/api/tickets?status=IN_PROGRESS&page=500"),
        ("API", "clientId (20k tickets), page 1", f"/api/tickets?clientId={whale}"),
        ("API", "clientId (20k tickets), page 500", f"/api/tickets?clientId={whale}&page=500"),
        ("API", "clientId (~100 tickets), page 1", f"/api/tickets?clientId={small}"),
        ("API", "status + clientId, page 1", f"/api/tickets?status=OPEN&clientId={whale}"),
        ("API", "clientType=VIP, page 1", "/api/tickets?clientType=VIP"),
        ("API", "slaBreached=true, page 1", "/api/tickets?slaBreached=true"),
        ("API", "pageSize=100, page 1", "/api/tickets?pageSize=100"),
        ("admin", "changelist, page 1", "/admin/tickets/ticket/"),
        ("admin", "changelist status=IN_PROGRESS", "/admin/tickets/ticket/?status__exact=IN_PROGRESS"),
        ("admin", "changelist page 500", "/admin/tickets/ticket/?p=500"),
        ("admin", "changelist sorted by SLA due", "/admin/tickets/ticket/?o=9"),
    ]
    total = Ticket.objects.count()
    print(f"\n{total:,} tickets, {args.runs} runs per row after 3 warm-up requests\n")
    print("| surface | request | p50 ms | p95 ms | SQL queries |")
    print("|---|---|---:|---:|---:|")
    for surface, label, url in cases:
        client = api if surface == "API" else browser
        p50, p95, q_min, q_max = measure(client, url, args.runs)
        queries = str(q_min) if q_min == q_max else f"{q_min}-{q_max}"
        print(f"| {surface} | {label} | {p50:.1f} | {p95:.1f} | {queries} |", flush=True)


if __name__ == "__main__":
    main()
