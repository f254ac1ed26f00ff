"""`GET /api/tickets` beside `/health`, side by side, against gunicorn as production runs it.

    BENCH_DB=bench_api BENCH_REDIS_URL=redis://127.0.0.1:6379/13 \\
    .venv/bin/python benchmarks/api_throughput.py [--connections 50] [--seconds 8] [--cases status ...]

What it does:
- fills (once) a PostgreSQL database with 1,000,000 tickets with benchmarks/tickets_api.py's filler
  (`--tickets`, `--refill`) and VACUUM ANALYZEs it;
- stamps the breaches that fell due since the fill, as the SLA sweep does every minute (no sweep
  runs here, and the list's not-yet-swept branch would otherwise hold every one of them);
- starts `gunicorn -c gunicorn.conf.py config.wsgi` (DEBUG=0, PostgreSQL, Redis db BENCH_REDIS_URL
  and the next one as cache, the API rate limit on with a limit no run reaches, request logging at
  INFO as in production, to a file);
- for every case, with wrk (Debian package `wrk`: `apt-get install wrk`; the script says so when it
  is missing): `/health` for `--seconds`, then the case for `--seconds`, with `--connections`
  connections each (interleaved, so each ratio compares two runs a few seconds apart), then a
  latency pass with one connection (p50 / p95 of a lone client);
- reads /proc/<pid>/stat before and after each run: CPU of the gunicorn master and workers, of
  the PostgreSQL backends serving the benchmark database, of redis-server, and of wrk itself
  (to show the load client is not the bottleneck), divided by the requests served.

Prints the machine, the load average before and after, and a Markdown table per case:
throughput, the /health run's throughput and gunicorn CPU ms per request, ratio list / health
(same run), p95 under load, lone-client p50/p95, CPU ms per request by process. Not a test:
timings belong here and in docs/benchmarks.md.
"""

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("BENCH_DB", "techsupport_bench")

from benchmarks import tickets_api  # noqa: E402 - after BENCH_DB has its default
from localmode.docstore import die_with_parent  # noqa: E402 - after sys.path

BENCH_REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
SECRET_KEY = "benchmark-only-secret-key-long-enough-for-hs256"
TICKS = os.sysconf("SC_CLK_TCK")

# wrk prints one JSON line when a run ends (its Lua `done` hook has the latency histogram).
WRK_SCRIPT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"p50_us":%d,"p95_us":%d,"p99_us":%d,"errors":%d,"non2xx":%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), e.connect + e.read + e.write + e.timeout, e.status))
end
"""


# --- processes and their CPU ----------------------------------------------------------------
def cpu_ticks(pid: int, children: bool = False) -> int:
    """utime + stime of a process (+ cutime + cstime: its reaped children), in clock ticks."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    ticks = int(fields[11]) + int(fields[12])
    return ticks + (int(fields[13]) + int(fields[14]) if children else 0)


def child_pids(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False).stdout
    return [int(p) for p in out.split()]


def redis_pids() -> list[int]:
    out = subprocess.run(["pgrep", "-x", "redis-server"], capture_output=True, text=True, check=False).stdout
    return [int(p) for p in out.split()]


def backend_pids(db: str) -> list[int]:
    with psycopg.connect(f"{tickets_api.BENCH_PG}/postgres", autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", [db]
        ).fetchall()
    return [row[0] for row in rows]


class CpuSample:
    """CPU ticks of the processes that serve a run, read before and after it."""

    def __init__(self, master: int):
        self.master = master
        self.workers = {pid: cpu_ticks(pid) for pid in child_pids(master)}
        # The master's own time plus the workers it reaped (recycled workers land there).
        self.master_ticks = cpu_ticks(master, children=True)
        self.backends = {pid: cpu_ticks(pid) for pid in backend_pids(tickets_api.BENCH_DB)}
        self.redis = {pid: cpu_ticks(pid) for pid in redis_pids()}

    def since(self, before: "CpuSample") -> dict:
        def delta(now: dict, then: dict) -> int:
            return sum(ticks - then.get(pid, 0) for pid, ticks in now.items())

        return {
            "gunicorn": (self.master_ticks - before.master_ticks) + delta(self.workers, before.workers),
            "postgres": delta(self.backends, before.backends),
            "redis": delta(self.redis, before.redis),
            "worker_boots": len(set(self.workers) - set(before.workers)),
        }


# --- the database and the server ------------------------------------------------------------
def prepare(n_tickets: int, refill: bool) -> dict:
    """The filled database (tickets_api's filler) and what the cases need from it."""
    os.environ["JWT_ACCESS_MINUTES"] = "600"  # the token outlives the run
    os.environ["SECRET_KEY"] = SECRET_KEY
    tickets_api.database_ensure()
    tickets_api.django_setup()
    from django.core.management import call_command
    from django.db.models import Count

    from accounts.models import User
    from accounts.tokens import RefreshToken
    from tickets.models import Client, Ticket

    call_command("migrate", verbosity=0)
    have = Ticket.objects.count()
    if refill or have != n_tickets or not User.objects.filter(email="bench-admin@example.com").exists():
        tickets_api.fill(n_tickets)
        tickets_api.vacuum()
    sweep_stamp()
    admin = User.objects.get(email="bench-admin@example.com")
    busiest_agent = (
        Ticket.objects.values("agent_id").exclude(agent_id=None).annotate(n=Count("id")).order_by("-n")[0]["agent_id"]
    )
    return {
        "token": str(RefreshToken.for_user(admin).access_token),
        "whale": str(Client.objects.get(email="client0@bench.example").pk),
        "agent": str(busiest_agent),
        "tickets": Ticket.objects.count(),
    }


def sweep_stamp() -> None:
    """Stamps the breaches that fell due since the fill as the SLA sweep does every minute (its
    `sla_breached_at`), so that the not-yet-swept rows are a minute's worth, as in production,
    not every breach since the database was filled (no sweep runs here)."""
    from django.db import connection
    from django.db.models import F
    from django.utils import timezone

    from tickets.models import Ticket
    from tickets.states import CLOCK_STOPPED

    stamped = (
        Ticket.objects.filter(deleted_at=None, sla_breached_at=None, sla_due_at__lt=timezone.now())
        .exclude(status__in=CLOCK_STOPPED)
        .update(sla_breached_at=F("sla_due_at"))
    )
    if stamped:
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE tickets_ticket")
    print(f"breaches stamped as the sweep would: {stamped}", file=sys.stderr, flush=True)


def server_env(port: int, mongo_url: str, workdir: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "REDIS_URL", "CACHE_URL"))}
    env.update(
        DATABASE_URL=f"{tickets_api.BENCH_PG}/{tickets_api.BENCH_DB}",
        REDIS_URL=BENCH_REDIS_URL,
        MONGO_URL=mongo_url,
        DEBUG="0",
        DJANGO_SETTINGS_MODULE="config.settings",
        SECRET_KEY=SECRET_KEY,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="0",
        LOG_LEVEL="INFO",  # production's: one JSON line per request
        LOCAL_ENV_FILE="",
        # The limiter runs on every request (its Redis round trip is part of the cost), with a
        # limit a benchmark never reaches.
        RATELIMIT_ENABLE="1",
        API_RATE_LIMIT="1000000000/m",
        GUNICORN_BIND=f"127.0.0.1:{port}",
        STATIC_ROOT=str(workdir / "static"),
        JWT_ACCESS_MINUTES="600",
        INGESTION_MAX_UPLOAD_MB="200",
        CELERY_TASK_ALWAYS_EAGER="0",  # tickets_api's setup turns it on for this process; never the server
        MEDIA_ROOT=str(workdir / "media"),
    )
    return env


def start_server(env: dict, log: Path) -> subprocess.Popen:
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    server = subprocess.Popen(
        [gunicorn, "-c", str(ROOT / "gunicorn.conf.py"), "config.wsgi"],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=die_with_parent,  # no orphan if the benchmark is killed
    )
    url = f"http://{env['GUNICORN_BIND']}/health"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return server
        except OSError:
            time.sleep(0.3)
    server.kill()
    raise SystemExit(f"gunicorn did not answer on {url}; see {log}")


def stop_server(server: subprocess.Popen) -> None:
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=40)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


# --- wrk ------------------------------------------------------------------------------------
def wrk(url: str, *, token: str | None, connections: int, seconds: float, script: Path) -> dict:
    threads = min(2, connections)
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
    ]
    if token:
        command += ["-H", f"Authorization: Bearer {token}"]
    before = os.times()
    out = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    after = os.times()
    result = json.loads(out.strip().splitlines()[-1])
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    result["wrk_cpu_s"] = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    return result


def measured(master: int, url: str, token: str | None, args, script: Path) -> dict:
    before = CpuSample(master)
    result = wrk(url, token=token, connections=args.connections, seconds=args.seconds, script=script)
    cpu = CpuSample(master).since(before)
    requests = max(result["requests"], 1)
    result["cpu_ms"] = {name: cpu[name] / TICKS * 1000 / requests for name in ("gunicorn", "postgres", "redis")} | {
        "wrk": result["wrk_cpu_s"] * 1000 / requests
    }
    result["worker_boots"] = cpu["worker_boots"]
    return result


def cases(seed: dict) -> list[tuple[str, str]]:
    """(label, query string) for each filter the contract lists, pages 1 and 500."""
    now = datetime.now(UTC)
    window = f"from={(now - timedelta(days=120)).date().isoformat()}&to={(now - timedelta(days=30)).date().isoformat()}"
    filters = {
        "status": "status=OPEN",
        "priority": "priority=2",
        "clientId": f"clientId={seed['whale']}",
        "clientType": "clientType=VIP",
        "agentId": f"agentId={seed['agent']}",
        "from/to": window,
        "slaBreached": "slaBreached=true",
    }
    return [(f"{name}, page {page}", f"{query}&page={page}") for name, query in filters.items() for page in (1, 500)]


def upload_times(base: str, token: str, rows: int, times: int) -> tuple[int, list[float]]:
    """(file size, seconds from the request's start to the 202) for a generated workbook of
    `rows` rows, uploaded `times` times with curl (a real multipart body over loopback)."""
    from ingestion.sample_workbook import write_sample_workbook

    path = Path(tempfile.gettempdir()) / f"api-throughput-upload-{rows}.xlsx"
    if not path.exists():
        write_sample_workbook(path, rows=rows, invalid_ratio=0.01, seed=42)
    seconds = []
    for _ in range(times):
        out = subprocess.run(
            [
                "curl",
                "-s",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code} %{time_total}",
                "-H",
                f"Authorization: Bearer {token}",
                "-F",
                f"file=@{path}",
                f"{base}/api/files/upload",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        if out[0] != "202":
            sys.exit(f"upload answered {out[0]}")
        seconds.append(float(out[1]))
    return path.stat().st_size, seconds


def machine() -> str:
    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    with psycopg.connect(f"{tickets_api.BENCH_PG}/postgres") as conn:
        pg = conn.execute("SHOW server_version").fetchone()[0]
        settings = {
            name: conn.execute(f"SHOW {name}").fetchone()[0]
            for name in ("shared_buffers", "work_mem", "effective_cache_size", "max_parallel_workers_per_gather")
        }
    return (
        f"{os.cpu_count()} CPUs ({cpu}), {mem_gb:.0f} GiB, {platform.platform()}, Python "
        f"{platform.python_version()}, PostgreSQL {pg} ({', '.join(f'{k}={v}' for k, v in settings.items())})"
    )


def row(label: str, case: dict, health: dict) -> str:
    cpu = case["cpu_ms"]
    total = cpu["gunicorn"] + cpu["postgres"] + cpu["redis"]
    health_rps = health["rps"]
    return (
        f"| {label} | {case['rps']:.0f} | {health_rps:.0f} | {health['cpu_ms']['gunicorn']:.2f} | "
        f"**{case['rps'] / health_rps:.2f}** | "
        f"{case['p95_us'] / 1000:.0f} | {case['lone_p50_ms']:.1f} / {case['lone_p95_ms']:.1f} | "
        f"{cpu['gunicorn']:.2f} | {cpu['postgres']:.2f} | {cpu['redis']:.2f} | **{total:.2f}** | "
        f"{cpu['wrk']:.2f} | {case['worker_boots']} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--refill", action="store_true")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--lone-seconds", type=float, default=3, help="the one-connection latency pass, per case")
    parser.add_argument("--port", type=int, default=8093)
    parser.add_argument("--cases", nargs="*", help="only the cases whose label starts with one of these")
    parser.add_argument("--upload-rows", type=int, default=0, help="also time uploads of a workbook this long")
    parser.add_argument("--upload-times", type=int, default=20, help="how many uploads to time")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: install it with `apt-get install wrk` (Debian package `wrk`).")

    from benchmarks.docstore import ensure_mongo_url

    workdir = Path(tempfile.mkdtemp(prefix="api-throughput-"))
    mongo_url = ensure_mongo_url("techsupport_bench_api")
    seed = prepare(args.tickets, args.refill)
    script = workdir / "report.lua"
    script.write_text(WRK_SCRIPT)
    server = start_server(server_env(args.port, mongo_url, workdir), workdir / "gunicorn.log")
    base = f"http://127.0.0.1:{args.port}"
    selected = [c for c in cases(seed) if not args.cases or c[0].startswith(tuple(args.cases))]
    load_before = os.getloadavg()
    lines = []
    try:
        for _, query in selected:  # warm every worker's code paths and the plans once
            wrk(f"{base}/api/tickets?{query}", token=seed["token"], connections=6, seconds=1, script=script)
        health_runs = []
        for label, query in selected:
            health = measured(server.pid, f"{base}/health", None, args, script)
            case = measured(server.pid, f"{base}/api/tickets?{query}", seed["token"], args, script)
            lone = wrk(
                f"{base}/api/tickets?{query}",
                token=seed["token"],
                connections=1,
                seconds=args.lone_seconds,
                script=script,
            )
            case["lone_p50_ms"], case["lone_p95_ms"] = lone["p50_us"] / 1000, lone["p95_us"] / 1000
            failures = case["non2xx"] + case["errors"] + health["non2xx"] + health["errors"]
            if failures:
                sys.exit(f"{label}: {failures} failed requests (non-2xx or socket errors); see {workdir}")
            health_runs.append(health)
            lines.append(row(label, case, health))
            print(lines[-1], file=sys.stderr, flush=True)
        if args.upload_rows:
            size, seconds = upload_times(base, seed["token"], args.upload_rows, args.upload_times)
            ms = sorted(s * 1000 for s in seconds)
            lines.append(
                f"\nUpload of a {args.upload_rows:,}-row workbook ({size / 2**20:.0f} MB) to 202, curl, "
                f"{len(ms)} times: min {ms[0]:.0f}, p50 {ms[len(ms) // 2]:.0f}, p90 {ms[int(len(ms) * 0.9)]:.0f}, "
                f"max {ms[-1]:.0f} ms (all: {', '.join(f'{m:.0f}' for m in ms)})"
            )
    finally:
        stop_server(server)
    load_after = os.getloadavg()
    health_cpu = {
        name: sum(run["cpu_ms"][name] for run in health_runs) / max(len(health_runs), 1)
        for name in ("gunicorn", "postgres", "redis", "wrk")
    }
    print(f"\nMachine: {machine()}")
    print(f"Date: {datetime.now(UTC).isoformat(timespec='seconds')}; {seed['tickets']:,} tickets")
    print(
        f"Load average (1/5/15 min) before: {' '.join(f'{x:.2f}' for x in load_before)}, "
        f"after: {' '.join(f'{x:.2f}' for x in load_after)}"
    )
    print(f"wrk: {args.connections} connections, {args.seconds:g} s per run; /health before every case")
    print(
        f"/health CPU ms per request (mean of its runs): gunicorn {health_cpu['gunicorn']:.2f}, "
        f"postgres {health_cpu['postgres']:.2f}, redis {health_cpu['redis']:.2f}, wrk {health_cpu['wrk']:.2f}\n"
    )
    print(
        "| case | list req/s | /health req/s | /health CPU ms | ratio | p95 ms (loaded) | lone p50 / p95 ms | "
        "CPU ms gunicorn | CPU ms postgres | CPU ms redis | CPU ms all | CPU ms wrk | worker boots |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    print("\n".join(lines))
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
