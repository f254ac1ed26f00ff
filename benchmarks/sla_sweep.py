"""SLA sweep at 1,000,000 open tickets on PostgreSQL, against a naive per-row loop.

    REDIS_URL=redis://127.0.0.1:6379/8 .venv/bin/python benchmarks/sla_sweep.py [--tickets 1000000]
        [--due 10000] [--refill] [--calendar] [--vip-share 0.2]

Creates its own database (`techsupport_slabench` on BENCH_PG, default
postgres://postgres@127.0.0.1:5432; BENCH_DB names another), migrates it and fills it with COPY:
`--tickets` open tickets, of which `--due` are past their due time (half VIP, half NORMAL, all
OPEN, no sweep has seen them yet) and the rest are inside their window (`--vip-share` of them VIP,
20 % by default). 2 supervisors and 3 level-2+ agents are
the recipients. Deliveries and projections are published to the real Redis broker (REDIS_URL;
the queues are purged afterwards), as in production; no worker runs, so nothing is delivered.

Measured, each on a fresh copy of the same due rows (restored from a snapshot table):
1. `sla_sweep(now)`: one sweep applying every due ticket (escalations + notices), with the
   periodic task's `SLA_SWEEP_WORKERS` batch loops (`--workers` to choose);
2. `sla_sweep(now)` again: nothing due (p50 over 50 runs, and its SQL queries);
3. the naive loop of the original system: every overdue OPEN ticket loaded and changed one by
   one (`ticket_change_status` per VIP ticket, `Notification.objects.create` per recipient);
4. the naive loop again a minute later: what it costs (and re-notifies) with "nothing new".
With `--calendar`, the sweep of 1. runs again with a business calendar (Mon-Fri 09:00-18:00,
Europe/Madrid, 10 holidays) on the VIP policy, i.e. on half of the due tickets: every VIP
escalation then computes its next step in open hours. Both figures print side by side. With
`--vip-share 0.5` as well, half of all the tickets (and half of the due ones) have the calendar.
Before each measurement the rows are restored, vacuumed and a CHECKPOINT flushes what the restore
dirtied, so no measurement pays for the previous one's writes.
Not a test: prints a Markdown table for docs/benchmarks.md.
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
BENCH_DB = os.environ.get("BENCH_DB", "techsupport_slabench")
HOURS = {"VIP": 2.0, "NORMAL": 24.0}
WARNING = 0.8
N_CLIENTS = 10_000
SNAPSHOT = "sla_bench_snapshot"
QUEUES = ["sla", "notifications", "projections"]


def database_ensure() -> None:
    with psycopg.connect(f"{BENCH_PG}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [BENCH_DB]).fetchone():
            conn.execute(f'CREATE DATABASE "{BENCH_DB}"')


def django_setup() -> None:
    from benchmarks.docstore import ensure_mongo_url

    ensure_mongo_url("techsupport_slabench")
    os.environ["DATABASE_URL"] = f"{BENCH_PG}/{BENCH_DB}"
    os.environ.setdefault("SECRET_KEY", "benchmark-only-secret-key-long-enough-for-hs256")
    os.environ["DEBUG"] = "0"
    os.environ["LOG_LEVEL"] = "WARNING"
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "0"  # publish to the broker, as in production
    if not os.environ.get("REDIS_URL"):
        sys.exit("Set REDIS_URL (a Redis database of your own): deliveries are published to it.")
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    import django

    django.setup()


def fill(n_tickets: int, n_due: int, now: datetime, vip_share: float) -> None:
    from django.contrib.auth.hashers import make_password
    from django.db import connection

    rng = random.Random(7)
    cur = connection.cursor().cursor
    cur.execute("SET statement_timeout = 0")
    cur.execute(
        "TRUNCATE tickets_notification, reports_ticketlogprojection, tickets_ticketevent, tickets_ticket,"
        " tickets_client, accounts_user CASCADE"
    )
    password = make_password("Bench-Pass-2024")
    users = [("SUPERVISOR", 1)] * 2 + [("AGENT", 2), ("AGENT", 3), ("AGENT", 3)] + [("AGENT", 1)] * 10
    agents = []
    with cur.copy(
        "COPY accounts_user (id, email, name, role, level, is_active, is_staff, is_superuser, password, created_at,"
        " token_version, accepts_auto_assignment) FROM STDIN"
    ) as copy:
        for n, (role, level) in enumerate(users):
            user_id = uuid.uuid4()
            if role == "AGENT":
                agents.append(user_id)
            copy.write_row(
                [
                    user_id,
                    f"slabench{n}@example.com",
                    "",
                    role,
                    level,
                    True,
                    role != "AGENT",
                    False,
                    password,
                    now,
                    0,
                    True,
                ]
            )
    clients = {"VIP": [], "NORMAL": []}
    with cur.copy("COPY tickets_client (id, name, email, type, company, created_at) FROM STDIN") as copy:
        for n in range(N_CLIENTS):
            tier = "VIP" if n % 5 == 0 else "NORMAL"
            client_id = uuid.uuid4()
            clients[tier].append(client_id)
            copy.write_row([client_id, f"Client {n}", f"client{n}@slabench.example", tier, "", now])
    columns = (
        "id, title, description, status, priority, client_id, client_type, agent_id, escalation_level, created_at,"
        " updated_at, deleted_at, sla_due_at, sla_breached_at, sla_next_check_at, sla_warning_at, version"
    )
    started = time.perf_counter()
    with cur.copy(f"COPY tickets_ticket ({columns}) FROM STDIN") as copy:
        for n in range(n_tickets):
            if n < n_due:  # past due, never swept: half VIP, half NORMAL
                tier = "VIP" if n % 2 == 0 else "NORMAL"
                window = timedelta(hours=HOURS[tier])
                created = now - window - timedelta(seconds=rng.randrange(1, 1800))
                status, agent = "OPEN", None
            else:  # inside the window, before the warning instant
                tier = "VIP" if rng.random() < vip_share else "NORMAL"
                window = timedelta(hours=HOURS[tier])
                created = now - window * WARNING * rng.random() * 0.9
                status = rng.choice(["OPEN", "IN_PROGRESS"])
                agent = None if status == "OPEN" else agents[rng.randrange(len(agents))]
            due = created + window
            copy.write_row(
                [
                    uuid.uuid4(),
                    f"Ticket {n}",
                    "Benchmark ticket",
                    status,
                    3,
                    clients[tier][rng.randrange(len(clients[tier]))],
                    tier,
                    agent,
                    0,
                    created,
                    created,
                    None,
                    due,
                    None,
                    created + (due - created) * WARNING,
                    created + (due - created) * WARNING,
                    1,
                ]
            )
    print(f"COPY of {n_tickets:,} tickets: {time.perf_counter() - started:.1f} s", flush=True)
    # The rows any sweep may change, to put them back between measurements.
    cur.execute(f"DROP TABLE IF EXISTS {SNAPSHOT}")
    cur.execute(
        f"CREATE TABLE {SNAPSHOT} AS SELECT id, status, updated_at, escalation_level, sla_breached_at,"
        " sla_next_check_at FROM tickets_ticket WHERE sla_due_at < %s",
        [now],
    )
    cur.execute("RESET statement_timeout")


def reset() -> None:
    """Puts the due rows back as they were and empties what sweeps insert."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SET statement_timeout = 0")
        cursor.execute(
            f"UPDATE tickets_ticket t SET status = s.status, updated_at = s.updated_at,"
            f" escalation_level = s.escalation_level, sla_breached_at = s.sla_breached_at,"
            f" sla_next_check_at = s.sla_next_check_at FROM {SNAPSHOT} s WHERE t.id = s.id"
        )
        cursor.execute("TRUNCATE tickets_notification, reports_ticketlogprojection, tickets_ticketevent")
        cursor.execute("RESET statement_timeout")
    vacuum()
    purge()


def vacuum() -> None:
    with psycopg.connect(f"{BENCH_PG}/{BENCH_DB}", autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE tickets_ticket")
        conn.execute("VACUUM ANALYZE tickets_ticketevent")
        conn.execute("VACUUM ANALYZE tickets_notification")
        conn.execute("CHECKPOINT")


def purge() -> None:
    from config.celery import app

    with app.connection_for_write() as connection:
        for queue in QUEUES:
            connection.default_channel.queue_purge(queue)


def naive_sweep(now: datetime) -> dict:
    """The original system's loop: every overdue OPEN ticket, loaded and changed one by one."""
    from accounts.models import User
    from tickets.models import Notification, SlaPolicy, Ticket
    from tickets.services import ticket_change_status

    supervisors = list(User.objects.filter(role="SUPERVISOR", is_active=True))
    seniors = list(User.objects.filter(role="AGENT", is_active=True, level__gte=2))
    escalated = notified = 0
    for ticket in Ticket.objects.alive().filter(status="OPEN", sla_due_at__lt=now):
        policy = SlaPolicy.objects.get(client_type=ticket.client_type)
        if policy.breach_action == "ESCALATE":
            ticket = ticket_change_status(ticket=ticket, to_status="ESCALATED", actor=None, now=now)
            recipients, kind = seniors + supervisors, "sla_escalation"
            escalated += 1
        else:
            recipients, kind = supervisors, "sla_breach"
            notified += 1
        for recipient in recipients:
            Notification.objects.create(recipient=recipient, ticket=ticket, kind=kind, message="SLA", created_at=now)
    return {"escalated": escalated, "notified": notified, "notifications": Notification.objects.count()}


def timed(function, *args, **kwargs):
    """Wall time and SQL statements (counted by a wrapper that only counts: no SQL capture)."""
    from django.db import connection

    count = 0

    def counter(execute, sql, params, many, context):
        nonlocal count
        count += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(counter):
        started = time.perf_counter()
        result = function(*args, **kwargs)
        elapsed = time.perf_counter() - started
    return result, elapsed, count


def calendar_sweep(now: datetime, batch_size, plain_s: float, plain_q: int, workers: int) -> None:
    """The same sweep with a business calendar on the VIP policy; the policy is put back after."""
    from datetime import date

    from tickets import services
    from tickets.models import BusinessCalendar, SlaPolicy
    from tickets.sweep import sla_sweep

    BusinessCalendar.objects.filter(name="slabench").delete()
    calendar = services.business_calendar_create(
        name="slabench",
        time_zone="Europe/Madrid",
        weekly_hours={day: [["09:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")},
        holidays=[(date(now.year + 1, 1, 1) + timedelta(days=30 * n), f"Holiday {n}") for n in range(10)],
    )
    vip = SlaPolicy.objects.get(client_type="VIP")
    services.sla_policy_update(policy=vip, calendar=calendar)
    try:
        sweep, sweep_s, sweep_q = timed(sla_sweep, now=now, batch_size=batch_size, workers=workers)
    finally:
        services.sla_policy_update(policy=SlaPolicy.objects.get(client_type="VIP"), calendar=None)
        calendar.delete()
    print(f"sweep with a calendar on VIP: {sweep.touched} tickets, escalations {sweep.escalations}", flush=True)
    print("\n| sweep of the due tickets | no calendar | calendar on the VIP policy (half the due tickets) |")
    print("|---|---:|---:|")
    print(f"| wall time | {plain_s:.2f} s | {sweep_s:.2f} s |")
    print(f"| SQL queries | {plain_q:,} | {sweep_q:,} |\n", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=10_000)
    parser.add_argument("--refill", action="store_true")
    parser.add_argument("--batch-size", type=int, default=None, help="default: settings.SLA_SWEEP_BATCH_SIZE")
    parser.add_argument("--skip-naive", action="store_true")
    parser.add_argument("--workers", type=int, default=None, help="default: settings.SLA_SWEEP_WORKERS")
    parser.add_argument("--calendar", action="store_true", help="also sweep with a calendar on the VIP policy")
    parser.add_argument("--vip-share", type=float, default=0.2, help="VIP share of the tickets not due (default 0.2)")
    args = parser.parse_args()

    database_ensure()
    django_setup()
    from django.core.management import call_command
    from django.db import connection

    from tickets.models import Notification, Ticket
    from tickets.sweep import sla_sweep

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [SNAPSHOT])
        have_snapshot = cursor.fetchone()[0] is not None
    # `now` is when the data was made: the same instant for every run, so every run sees the
    # same due set whatever the wall clock says.
    marker = Path(ROOT / "var" / f"slabench-now-{BENCH_DB}.txt")
    shape = f"{args.tickets} {args.due} {args.vip_share}"
    lines = marker.read_text().split("\n") if marker.exists() else []
    if args.refill or not have_snapshot or len(lines) < 2 or lines[1] != shape:
        now = datetime.now(UTC).replace(microsecond=0)
        fill(args.tickets, args.due, now, args.vip_share)
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(f"{now.isoformat()}\n{shape}")
        lines = marker.read_text().split("\n")
    now = datetime.fromisoformat(lines[0].strip())
    vip = Ticket.objects.filter(client_type="VIP").count() / args.tickets
    print(f"{args.tickets:,} tickets, {vip:.0%} VIP; {args.due:,} due, half of them VIP", flush=True)
    reset()

    from django.conf import settings

    workers = args.workers or settings.SLA_SWEEP_WORKERS
    print(f"sweep workers: {workers} (statements counted on the first one's connection)", flush=True)
    sweep, sweep_s, sweep_q = timed(sla_sweep, now=now, batch_size=args.batch_size, workers=workers)
    print(
        f"sweep: {sweep.touched} tickets, escalations {sweep.escalations}, notices {sweep.breach_notices},"
        f" {sweep.notifications} notifications, {sweep.batches} batches: {sweep_s:.2f} s, {sweep_q} queries",
        flush=True,
    )
    idle = []
    for _ in range(50):
        result, elapsed, idle_q = timed(sla_sweep, now=now, workers=workers)
        assert result.touched == 0
        idle.append(elapsed * 1000)
    idle_p50 = statistics.median(idle)
    print(f"idle sweep: p50 {idle_p50:.2f} ms, max {max(idle):.2f} ms, {idle_q} queries", flush=True)

    if args.calendar:
        reset()
        calendar_sweep(now, args.batch_size, sweep_s, sweep_q, workers)
    if args.skip_naive:
        reset()
        return
    reset()
    naive, naive_s, naive_q = timed(naive_sweep, now)
    print(f"naive: {naive} in {naive_s:.2f} s, {naive_q} queries", flush=True)
    before = Notification.objects.count()
    naive_again, naive_again_s, naive_again_q = timed(naive_sweep, now + timedelta(minutes=1))
    duplicates = Notification.objects.count() - before
    print(f"naive again: {naive_again} in {naive_again_s:.2f} s, {naive_again_q} queries", flush=True)
    reset()
    purge()

    print(f"\n{Ticket.objects.count():,} open tickets, {args.due:,} past due\n")
    print("| run | naive per-row loop | set-based sweep |")
    print("|---|---:|---:|")
    print(f"| {args.due:,} due: wall time | {naive_s:.2f} s | {sweep_s:.2f} s |")
    print(f"| {args.due:,} due: SQL queries | {naive_q:,} | {sweep_q:,} |")
    print(f"| nothing new due: wall time | {naive_again_s * 1000:.0f} ms | {idle_p50:.2f} ms (p50 of 50) |")
    print(f"| nothing new due: SQL queries | {naive_again_q:,} | {idle_q} |")
    print(f"| nothing new due: notifications sent again | {duplicates:,} | 0 |")


if __name__ == "__main__":
    main()
