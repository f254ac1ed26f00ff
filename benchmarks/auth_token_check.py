"""What the token-version check costs on `GET /api/tickets`.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<db> REDIS_URL=redis://127.0.0.1:6379/<n> \
        MONGO_URL=mongodb://127.0.0.1:27017/<db> .venv/bin/python benchmarks/auth_token_check.py [--requests 2000]

Migrates the database named by DATABASE_URL (PostgreSQL; it empties the users, clients and
tickets it holds; nothing is written to Redis or MongoDB, which the settings require), creates
one agent and 20 tickets, then sends `GET /api/tickets` N times through Django's test client
(whole middleware/DRF stack, no network) with a bearer token, in rounds that alternate between
the check as shipped and the check switched off, in both orders (only where the code has one:
run it on an older checkout for the "before" figure). Prints per-request wall
time (mean, p50, p95), this process's CPU time per request (steadier on a shared machine: the
database's share runs elsewhere), SQL queries per request, and the check alone (timeit). Not a
test: figures go to docs/benchmarks.md.
"""

import argparse
import os
import statistics
import sys
import time
import timeit
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def django_setup() -> None:
    os.environ.setdefault("SECRET_KEY", "benchmark-only-secret-key-long-enough-for-hs256")
    os.environ["DEBUG"] = "0"
    os.environ["ALLOWED_HOSTS"] = "testserver"
    os.environ["SECURE_SSL_REDIRECT"] = "0"
    os.environ["RATELIMIT_ENABLE"] = "0"  # measuring authentication, not the limiter
    os.environ["LOG_LEVEL"] = "WARNING"
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def fixtures() -> str:
    """One agent, 20 tickets; returns the agent's access token as the API issues it."""
    from accounts import services
    from accounts.models import User
    from tickets.models import Client, Ticket
    from tickets.services import client_create, ticket_create

    Ticket.objects.all().delete()
    Client.objects.all().delete()
    User.objects.all().delete()
    agent = services.user_create(email="bench@example.com", password="Bench-Pass-2024", role="AGENT")
    client = client_create(name="Bench", email="client@example.com", type="NORMAL")
    for n in range(20):
        ticket_create(title=f"Ticket {n}", description="Benchmark ticket", client=client, actor=agent)
    return services.auth_login(email="bench@example.com", password="Bench-Pass-2024").access


def check_switch():
    """(on, off) callables, or None when this checkout has no token-version check."""
    try:
        from accounts import tokens
    except ImportError:
        return None
    shipped = tokens.token_version_current

    def on():
        tokens.token_version_current = shipped

    def off():
        tokens.token_version_current = lambda claims, version: True

    return on, off


def measure(client, n: int) -> tuple[list[float], float]:
    """Wall times (ms) of n requests, and the CPU time of this process (ms) they took in all."""
    times = []
    cpu_start = time.process_time()
    for _ in range(n):
        start = time.perf_counter()
        response = client.get("/api/tickets")
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.content[:200]
    return times, (time.process_time() - cpu_start) * 1000


def check_alone() -> str:
    try:
        from accounts.tokens import token_version_current
    except ImportError:
        return "no check in this checkout"
    runs = 1_000_000
    seconds = timeit.timeit(lambda: token_version_current({"sub": "x", "ver": 3}, 3), number=runs)
    return f"the check alone: {seconds / runs * 1e9:.0f} ns per call (timeit, {runs:,} calls)"


def queries_per_request(client) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        client.get("/api/tickets")
    return len(captured.captured_queries)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    django_setup()
    from django.test import Client

    client = Client(HTTP_AUTHORIZATION=f"Bearer {fixtures()}")
    measure(client, 100)  # warm-up: connections, caches, imports
    switch = check_switch()
    modes = {"as shipped": None} if switch is None else {"check on": switch[0], "check off": switch[1]}
    results = {name: ([], 0.0) for name in modes}
    per_round = args.requests // args.rounds
    for round_no in range(args.rounds):  # alternate, so drift on a shared machine hits both modes alike
        for name, apply in list(modes.items())[:: 1 if round_no % 2 == 0 else -1]:
            if apply:
                apply()
            times, cpu = measure(client, per_round)
            results[name] = (results[name][0] + times, results[name][1] + cpu)
    total = per_round * args.rounds
    print(f"{total} requests per mode, {queries_per_request(client)} SQL queries per request; {check_alone()}")
    print("| mode | mean ms | p50 ms | p95 ms | CPU ms per request |\n|---|---|---|---|---|")
    for name, (times, cpu) in results.items():
        p95 = statistics.quantiles(times, n=20)[18]
        mean, p50 = statistics.mean(times), statistics.median(times)
        print(f"| {name} | {mean:.2f} | {p50:.2f} | {p95:.2f} | {cpu / total:.2f} |")


if __name__ == "__main__":
    main()
