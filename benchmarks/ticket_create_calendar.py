"""Ticket creation with and without a business calendar on the tier's policy (median of N, µs).

    REDIS_URL=redis://127.0.0.1:6379/8 .venv/bin/python benchmarks/ticket_create_calendar.py [--n 500]

Creates its own database (BENCH_DB, default `techsupport_calbench`, on BENCH_PG, default
postgres://postgres@127.0.0.1:5432) and migrates it. Measures `ticket_create` (the whole service:
policy read, due and warning instants, INSERTs of the ticket and its event, one transaction)
N times per case, alternating the cases so that a load change on the machine hits both, and
the pure arithmetic alone (`sla.clock_start`): 24x7, a calendar Mon-Fri 09:00-18:00 in
Europe/Madrid with 10 holidays, and the same calendar with a one-year (8,760 h) target.
Not a test: prints a Markdown table for docs/benchmarks.md.
"""

import argparse
import os
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BENCH_PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
BENCH_DB = os.environ.get("BENCH_DB", "techsupport_calbench")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")


def django_setup() -> None:
    with psycopg.connect(f"{BENCH_PG}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [BENCH_DB]).fetchone():
            conn.execute(f'CREATE DATABASE "{BENCH_DB}"')
    os.environ["DATABASE_URL"] = f"{BENCH_PG}/{BENCH_DB}"
    os.environ.setdefault("SECRET_KEY", "benchmark-only-secret-key-long-enough-for-hs256")
    os.environ["DEBUG"] = "0"
    os.environ["LOG_LEVEL"] = "WARNING"
    os.environ.setdefault("MONGO_URL", "mongodb://127.0.0.1:1/unused")  # creation never reaches it
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")  # nor the broker
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    import django

    django.setup()


def _median_us(samples: list[float]) -> float:
    return statistics.median(samples) * 1e6


def creation(n: int, calendar) -> tuple[float, float]:
    """Median µs of ticket_create without, then with, the calendar on the NORMAL policy."""
    from tickets import services
    from tickets.models import Client, SlaPolicy

    client, _ = Client.objects.get_or_create(email="calbench@example.com", defaults={"name": "Bench", "type": "NORMAL"})
    policy = SlaPolicy.objects.get(client_type="NORMAL")
    samples = {None: [], calendar: []}
    now = datetime(2026, 3, 6, 15, 0, tzinfo=UTC)  # a Friday afternoon: the due time crosses a weekend
    for index in range(2 * n + 20):
        case = calendar if index % 2 else None
        services.sla_policy_update(policy=policy, calendar=case)
        started = time.perf_counter()
        services.ticket_create(title="Bench ticket", description="Benchmark.", client=client, actor=None, now=now)
        if index >= 20:  # the first rounds warm the caches
            samples[case].append(time.perf_counter() - started)
    services.sla_policy_update(policy=policy, calendar=None)
    return _median_us(samples[None]), _median_us(samples[calendar])


def arithmetic(n: int, spec) -> dict[str, float]:
    from tickets import sla

    start = datetime(2026, 3, 6, 15, 0, tzinfo=UTC)
    cases = {
        "24x7, 24 h": sla.PolicyValues(target_hours=24.0, breach_action="NOTIFY"),
        "calendar, 24 h": sla.PolicyValues(target_hours=24.0, breach_action="NOTIFY", calendar=spec),
        "calendar, 8,760 h": sla.PolicyValues(target_hours=8760.0, breach_action="NOTIFY", calendar=spec),
    }
    figures = {}
    for name, policy in cases.items():
        samples = []
        for offset in range(n):
            at = start + timedelta(minutes=37 * offset)
            started = time.perf_counter()
            sla.clock_start(policy, at)
            samples.append(time.perf_counter() - started)
        figures[name] = _median_us(samples)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=500)
    args = parser.parse_args()
    django_setup()
    from django.core.management import call_command

    from tickets import services

    call_command("migrate", verbosity=0)
    calendar = services.business_calendar_create(
        name=f"calbench-{os.getpid()}",
        time_zone="Europe/Madrid",
        weekly_hours={day: [["09:00", "18:00"]] for day in WEEKDAYS},
        holidays=[(date(2026, 1, 1) + timedelta(days=36 * n), f"Holiday {n}") for n in range(10)],
    )
    plain, with_calendar = creation(args.n, calendar)
    figures = arithmetic(args.n, calendar.spec())
    print(f"\nticket_create, median of {args.n} each (µs), load average {os.getloadavg()[0]:.2f}\n")
    print("| case | median µs |")
    print("|---|---:|")
    print(f"| ticket_create, 24x7 policy | {plain:.0f} |")
    print(f"| ticket_create, policy with a calendar | {with_calendar:.0f} |")
    print(f"| difference | {with_calendar - plain:+.0f} |")
    for name, value in figures.items():
        print(f"| due + warning instants only ({name}) | {value:.1f} |")


if __name__ == "__main__":
    main()
