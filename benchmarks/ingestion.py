"""Excel ingestion, end to end: upload → split → chunks → documents + counts, with real workers.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/techsupport_bench REDIS_URL=redis://127.0.0.1:6379/4 \\
    .venv/bin/python benchmarks/ingestion.py --rows 100000 --modes local redis --store configured discard

Modes (each run in a child process configured like the real thing):
- `local`: local mode as `make run` runs it — SQLite file, the local file broker, a worker of 2 pool
  processes (the same command line as `make run`'s worker, without beat).
- `redis`: production's shape — PostgreSQL (`DATABASE_URL`), Redis (`REDIS_URL`), 2 pool processes.

Stores: `configured` writes to the document server; `discard` runs the workers through
`benchmarks/ingestion_worker.py`, which BSON-encodes the documents (the driver's client-side work)
and drops them — the pipeline's own speed. The document server is MONGO_URL when set, otherwise a
throw-away local SecantusDB started here; its own CPU seconds during each run are read from /proc
and reported apart ("store_cpu_s"). SecantusDB is not MongoDB: its figures are never MongoDB's.

The denominator of `ratio` is calamine's raw read rate of the same file, measured in this process
right before each run (open + read every row of the first sheet, nothing else).

`--reimport` uploads the same file a second time in each configured run (documents exist: the
re-import path, which replaces them).
"""

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from localmode.docstore import die_with_parent  # noqa: E402 - after sys.path

BENCH_DB = "techsupport_bench_ingest"


# --- measuring processes -----------------------------------------------------------------
def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a live process (its own, not its children's)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_peak_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False).stdout
    return [int(p) for p in out.split()]


def calamine_read_rate(path: Path) -> dict:
    """calamine's raw speed on this file: open the workbook and read every row of the first sheet."""
    from python_calamine import CalamineWorkbook

    started = time.perf_counter()
    workbook = CalamineWorkbook.from_path(str(path))
    rows = sum(1 for _ in workbook.get_sheet_by_index(0).iter_rows()) - 1
    workbook.close()
    seconds = time.perf_counter() - started
    return {"calamine_s": round(seconds, 2), "calamine_rows_per_s": round(rows / seconds)}


# --- one run, in a child process configured for its mode ----------------------------------
def _mode_env(mode: str, workdir: Path, mongo_url: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "REDIS_URL", "MONGO_URL"))}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        SECRET_KEY="benchmark-only-secret-key-not-for-production-use",
        SECURE_SSL_REDIRECT="0",
        CELERY_TASK_ALWAYS_EAGER="0",
        LOG_LEVEL="WARNING",
        LOCAL_ENV_FILE="",
        MONGO_URL=mongo_url,
        MEDIA_ROOT=str(workdir / "media"),
        RATELIMIT_ENABLE="0",
        # A 1M-row workbook of this shape is ~100 MB: above the default 50 MB upload limit.
        INGESTION_MAX_UPLOAD_MB=os.environ.get("INGESTION_MAX_UPLOAD_MB", "200"),
        ALLOWED_HOSTS="testserver,127.0.0.1,localhost",
    )
    if mode == "local":
        env.update(
            DEBUG="1",
            DATABASE_URL=f"sqlite:///{workdir / 'local.sqlite3'}",
            LOCAL_BROKER_DIR=str(workdir / "broker"),
        )
    else:
        env.update(DEBUG="0", DATABASE_URL=os.environ["DATABASE_URL"], REDIS_URL=os.environ["REDIS_URL"])
    return env


def _start_workers(env: dict, log: Path, store: str) -> subprocess.Popen:
    runner = [sys.executable, str(ROOT / "benchmarks/ingestion_worker.py")] if store == "discard" else []
    command = runner or [str(Path(sys.executable).parent / "celery")]
    worker = subprocess.Popen(
        [
            *command,
            *("-A", "config", "worker", "--queues", "ingestion", "--concurrency", "2", "--loglevel", "WARNING"),
            *("--without-gossip", "--without-mingle", "-n", f"bench-{os.getpid()}@%h"),
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=die_with_parent,  # no orphan if the benchmark is killed
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(_children(worker.pid)) < 2:
        time.sleep(0.2)
    time.sleep(1.0)  # let the pool connect to the broker
    return worker


def _stop_workers(worker: subprocess.Popen) -> None:
    """A warm shutdown (SIGTERM to the main process, which stops its pool); SIGKILL after 60 s."""
    worker.terminate()
    try:
        worker.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()


def _upload_and_wait(api, path: Path, timeout_s: float) -> dict:
    from ingestion.models import FINISHED_STATUSES, ImportJob

    with path.open("rb") as handle:
        started = time.perf_counter()
        response = api.post("/api/files/upload", {"file": handle}, format="multipart")
        upload_ms = (time.perf_counter() - started) * 1000
    assert response.status_code == 202, response.content
    job = ImportJob.objects.get(pk=response.json()["processId"])
    deadline = time.monotonic() + timeout_s
    while job.status not in FINISHED_STATUSES and time.monotonic() < deadline:
        time.sleep(0.1)
        job.refresh_from_db()
    if job.status not in FINISHED_STATUSES:
        return {"status": f"timed out after {timeout_s:.0f} s ({job.processed + job.failed} done)"}
    seconds = (job.finished_at - job.created_at).total_seconds()
    done = job.processed + job.failed
    return {
        "status": job.status,
        "processed": job.processed,
        "failed": job.failed,
        "upload_ms": round(upload_ms),
        "end_to_end_s": round(seconds, 2),
        "rows_per_s": round(done / seconds),
    }


def _warm_producer() -> None:
    """Publishes one message to a scratch queue and drops it: the broker connection, the producer
    pool and the task-message code are ready before the upload, as in a served API process."""
    from ingestion.tasks import import_job_redrive_task

    queue = f"bench-warmup-{os.getpid()}"
    import_job_redrive_task.apply_async(queue=queue)
    with import_job_redrive_task.app.connection_for_write() as connection, connection.SimpleQueue(queue) as scratch:
        scratch.get(timeout=10).ack()
        scratch.queue.delete()


def child(mode: str, store: str, path: Path, workdir: Path, timeout_s: float, reimport: bool) -> dict:
    import django

    django.setup()
    from django.core.management import call_command
    from rest_framework.test import APIClient

    from accounts.models import User
    from accounts.roles import Role
    from techsupport.mongo import get_db
    from techsupport.ticket_logs import COLLECTION

    call_command("migrate", verbosity=0)
    get_db()[COLLECTION].drop()
    admin, _ = User.objects.get_or_create(email="bench@example.com", defaults={"role": Role.ADMIN})
    api = APIClient()
    api.force_authenticate(admin)
    api.get("/api/files")  # a served process is warm: load the URL/DRF code paths first
    _warm_producer()  # ... and has published before (the first publish of a process costs ~45 ms)
    worker = _start_workers(dict(os.environ), workdir / f"worker-{mode}-{store}.log", store)
    pool = _children(worker.pid)
    cpu_before = {pid: _cpu_s(pid) for pid in [worker.pid, *pool]}
    try:
        result = _upload_and_wait(api, path, timeout_s)
        cpu = {pid: _cpu_s(pid) - before for pid, before in cpu_before.items()}
        result["worker_cpu_s"] = round(sum(cpu.values()), 2)
        # The main process (broker I/O, handing messages to the pool), then each pool process.
        result["worker_cpu_s_each"] = [
            round(cpu[worker.pid], 2),
            *sorted((round(cpu[p], 2) for p in pool), reverse=True),
        ]
        result["worker_peak_rss_mb"] = sorted((round(_rss_peak_mb(pid)) for pid in pool), reverse=True)
        if reimport:
            again = _upload_and_wait(api, path, timeout_s)
            result["reimport_end_to_end_s"] = again.get("end_to_end_s")
            result["reimport_rows_per_s"] = again.get("rows_per_s")
        result["documents"] = get_db()[COLLECTION].estimated_document_count()
    finally:
        _stop_workers(worker)
    return result


# --- the parent: files, the document server, the table -------------------------------------
def _document_server(workdir: Path):
    """(MONGO_URL, server pid or None): MONGO_URL if set, else a throw-away local server."""
    if os.environ.get("MONGO_URL"):
        return os.environ["MONGO_URL"].rsplit("/", 1)[0] + f"/{BENCH_DB}", None, "MONGO_URL"
    from localmode.docstore import DocStoreServer, free_port

    server = DocStoreServer(port=free_port(), storage_path=":memory:", log_path=str(workdir / "docstore.log"))
    server.start()
    return f"{server.url}{BENCH_DB}", server, "SecantusDB 0.7.0b3 (local, in-memory) — not MongoDB"


def _run_one(mode, store, path, workdir, mongo_url, server, args) -> dict:
    env = _mode_env(mode, workdir, mongo_url)
    for stale in (workdir / "local.sqlite3", workdir / "broker"):
        subprocess.run(["rm", "-rf", str(stale)], check=True)
    reimport = args.reimport and store == "configured"
    command = [sys.executable, __file__, "--child", mode, store, str(path), "--timeout", str(args.timeout)]
    store_cpu_before = _cpu_s(server.process.pid) if server else None
    result = {"mode": mode, "store": store, "rows": int(path.stem.rsplit("-", 1)[1]), **calamine_read_rate(path)}
    out = subprocess.run(
        [*command, *(["--reimport"] if reimport else [])], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if out.returncode != 0:
        raise SystemExit(f"run {mode}/{store} failed:\n{out.stderr[-3000:]}")
    result.update(json.loads(out.stdout.strip().splitlines()[-1]))
    if server:
        result["store_cpu_s"] = round(_cpu_s(server.process.pid) - store_cpu_before, 2)
    if "rows_per_s" in result:
        result["ratio"] = round(result["rows_per_s"] / result["calamine_rows_per_s"], 3)
    return result


COLUMNS = (
    "mode",
    "store",
    "rows",
    "upload ms",
    "end to end s",
    "rows/s",
    "calamine rows/s",
    "ratio",
    "worker CPU s",
    "store CPU s",
    "re-import s",
)


def _table(runs: list[dict]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for r in runs:
        cells = (
            r["mode"],
            r["store"],
            f"{r['rows']:,}",
            r.get("upload_ms"),
            r.get("end_to_end_s"),
            f"{r.get('rows_per_s', 0):,}",
            f"{r['calamine_rows_per_s']:,}",
            r.get("ratio"),
            r.get("worker_cpu_s"),
            r.get("store_cpu_s"),
            r.get("reimport_end_to_end_s"),
        )
        lines.append("| " + " | ".join("—" if cell is None else str(cell) for cell in cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000])
    parser.add_argument("--modes", nargs="+", choices=["local", "redis"], default=["local", "redis"])
    parser.add_argument("--store", nargs="+", choices=["configured", "discard"], default=["configured", "discard"])
    parser.add_argument("--workdir", default=str(Path(tempfile.gettempdir()) / "techsupport-bench"))
    parser.add_argument("--invalid-ratio", type=float, default=0.01)
    parser.add_argument("--timeout", type=float, default=900, help="Per run, seconds.")
    parser.add_argument("--reimport", action="store_true", help="Upload the same file again (the re-import path).")
    parser.add_argument("--child", nargs=3, metavar=("MODE", "STORE", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    if args.child:
        mode, store, path = args.child
        print(json.dumps(child(mode, store, Path(path), workdir, args.timeout, args.reimport)))
        return
    if "redis" in args.modes and not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL")):
        sys.exit("Mode redis needs DATABASE_URL and REDIS_URL (a benchmark database and Redis db).")

    from ingestion.sample_workbook import write_sample_workbook

    mongo_url, server, server_label = _document_server(workdir)
    load = os.getloadavg()
    results = {
        "machine": f"{platform.node()} {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "load_average_at_start": [round(x, 2) for x in load],
        "document_server": server_label,
        "runs": [],
    }
    try:
        for rows in args.rows:
            path = workdir / f"tickets-{rows}.xlsx"
            if not path.exists():
                write_sample_workbook(path, rows=rows, invalid_ratio=args.invalid_ratio, seed=42)
            for mode in args.modes:
                for store in args.store:
                    results["runs"].append(_run_one(mode, store, path, workdir, mongo_url, server, args))
                    print(json.dumps(results["runs"][-1]), file=sys.stderr)
    finally:
        if server:
            server.stop()
    results["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(results, indent=2))
    print(_table(results["runs"]))


if __name__ == "__main__":
    main()
