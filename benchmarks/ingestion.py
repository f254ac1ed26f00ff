"""Excel ingestion benchmark: the real pipeline, the real Redis broker, two worker processes.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/techsupport_bench \\
    REDIS_URL=redis://127.0.0.1:6379/4 \\
    .venv/bin/python benchmarks/ingestion.py --rows 100000 1000000 --store configured discard

For each size it generates a seeded workbook (cached in --workdir), starts
`celery -A config worker --queues ingestion --concurrency 2`, uploads the file through the API
view (Django test client: the full middleware/DRF stack, no network), and waits for the job to
finish. It reports upload latency, end-to-end rows/s (job created → finished), and the peak RSS
(VmHWM) of every worker process. Separately, in this process, it times the stages for the
smallest size: parse (calamine → wire rows), validate (rows → documents) and store.

Without MONGO_URL the document store is the in-process stand-in (mongomock): each worker
process writes into its own memory. The "store" figures are then stand-in speed, never MongoDB
speed; set MONGO_URL to measure a real MongoDB.

`--store configured discard` runs each size twice: once with the configured store (the stand-in
without MONGO_URL), once with workers started through `benchmarks/ingestion_worker.py`, whose
store only BSON-encodes the documents (the driver's client-side cost) and drops them — the
pipeline's own throughput (parse, validate, PostgreSQL counting, broker). Each run also reports
the CPU seconds the worker processes used, so the store's share can be read off the difference.
The chunk size is the workers' INGESTION_CHUNK_SIZE (set it in the environment to compare).
"""

import argparse
import json
import os
import platform
import resource
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _env(workdir: Path) -> dict:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DEBUG="0",
        SECRET_KEY=os.environ.get("SECRET_KEY", "benchmark-only-secret-key-not-for-production-use"),
        SECURE_SSL_REDIRECT="0",
        CELERY_TASK_ALWAYS_EAGER="0",
        LOG_LEVEL="WARNING",
        MEDIA_ROOT=str(workdir / "media"),
        RATELIMIT_ENABLE="0",
        # A 1M-row workbook of this shape is ~100 MB: above the default 50 MB upload limit.
        INGESTION_MAX_UPLOAD_MB=os.environ.get("INGESTION_MAX_UPLOAD_MB", "200"),
        ALLOWED_HOSTS="testserver,127.0.0.1,localhost",
    )
    return env


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


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a live process (its own, not its children's)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _start_workers(env: dict, logfile: Path, store: str) -> subprocess.Popen:
    if store == "discard":
        command = [sys.executable, str(ROOT / "benchmarks/ingestion_worker.py")]
    else:
        command = [str(ROOT / ".venv/bin/celery")]
    worker = subprocess.Popen(
        [
            *command,
            "-A",
            "config",
            "worker",
            "--queues",
            "ingestion",
            "--concurrency",
            "2",
            "--loglevel",
            "WARNING",
            "--without-gossip",
            "--without-mingle",
            "-n",
            f"bench-{os.getpid()}@%h",
        ],
        cwd=ROOT,
        env=env,
        stdout=logfile.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(_children(worker.pid)) < 2:
        time.sleep(0.2)
    time.sleep(1.0)  # let the children connect to the broker
    return worker


def _stop_workers(worker: subprocess.Popen) -> None:
    os.killpg(worker.pid, signal.SIGTERM)
    try:
        worker.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()


def _stages(path: Path, rows: int) -> dict:
    """Parse / validate / store, timed in this process on one file."""
    from ingestion import services
    from ingestion.ticket_rows import map_header, sheet_row_to_wire
    from ingestion.xlsx_reader import FirstSheet
    from techsupport.mongo import get_db, is_embedded
    from techsupport.ticket_logs import COLLECTION

    started = time.perf_counter()
    sheet = FirstSheet(str(path))
    stream = sheet.rows()
    positions = map_header(next(stream)[1])
    wire_rows = [sheet_row_to_wire(values, positions) for _, values in stream]
    sheet.close()
    parse_s = time.perf_counter() - started

    started = time.perf_counter()
    outcome = services.chunk_validate(job_id="00000000-0000-0000-0000-000000000000", first_row_no=2, rows=wire_rows)
    validate_s = time.perf_counter() - started

    get_db()[COLLECTION].drop()
    started = time.perf_counter()
    for start in range(0, len(outcome.documents), 1000):
        services.ticket_logs_store(outcome.documents[start : start + 1000])
    store_s = time.perf_counter() - started
    get_db()[COLLECTION].drop()

    from benchmarks.ingestion_worker import encode_and_discard

    started = time.perf_counter()
    for start in range(0, len(outcome.documents), 1000):
        encode_and_discard(outcome.documents[start : start + 1000])
    encode_s = time.perf_counter() - started
    return {
        "rows": rows,
        "parse_s": round(parse_s, 2),
        "parse_rows_per_s": round(rows / parse_s),
        "validate_s": round(validate_s, 2),
        "validate_rows_per_s": round(rows / validate_s),
        "store_s": round(store_s, 2),
        "store_docs_per_s": round(len(outcome.documents) / store_s),
        "store": "stand-in (mongomock, in-process)" if is_embedded() else "MongoDB",
        "bson_encode_only_s": round(encode_s, 2),
    }


def _store_label(store: str) -> str:
    from techsupport.mongo import is_embedded

    if store == "discard":
        return "discarded (BSON-encoded only)"
    return "stand-in (mongomock, in each worker)" if is_embedded() else "MongoDB (MONGO_URL)"


def _run(path: Path, rows: int, env: dict, workdir: Path, timeout_s: float, store: str) -> dict:
    import redis
    from django.conf import settings

    from accounts.models import User
    from accounts.roles import Role
    from ingestion.models import FINISHED_STATUSES, ImportJob

    redis.Redis.from_url(settings.REDIS_URL).delete("ingestion")
    admin, _ = User.objects.get_or_create(email="bench@example.com", defaults={"role": Role.ADMIN})
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(admin)

    # A served process is warm: load the URL/DRF/multipart code paths before timing.
    api.get("/api/files")
    api.post("/api/files/upload", {}, format="multipart")
    worker = _start_workers(env, workdir / f"worker-{rows}-{store}.log", store)
    pool = _children(worker.pid)
    cpu_before = {pid: _cpu_s(pid) for pid in [worker.pid, *pool]}
    try:
        with path.open("rb") as handle:
            started = time.perf_counter()
            response = api.post("/api/files/upload", {"file": handle}, format="multipart")
            upload_ms = (time.perf_counter() - started) * 1000
        assert response.status_code == 202, response.content
        job = ImportJob.objects.get(pk=response.json()["processId"])
        deadline = time.monotonic() + timeout_s
        while job.status not in FINISHED_STATUSES and time.monotonic() < deadline:
            time.sleep(0.2)
            job.refresh_from_db()
        peaks = {pid: round(_rss_peak_mb(pid)) for pid in _children(worker.pid)}
        # The main process consumes from the broker and hands tasks to the pool over pipes.
        cpu = {pid: round(_cpu_s(pid) - before, 2) for pid, before in cpu_before.items()}
    finally:
        _stop_workers(worker)
    if job.status not in FINISHED_STATUSES:
        return {
            "rows": rows,
            "store": _store_label(store),
            "status": f"timed out after {timeout_s:.0f} s ({job.processed + job.failed} done)",
        }
    e2e_s = (job.finished_at - job.created_at).total_seconds()
    return {
        "rows": rows,
        "store": _store_label(store),
        "chunk_size": int(env.get("INGESTION_CHUNK_SIZE") or settings.INGESTION_CHUNK_SIZE),
        "file_mb": round(path.stat().st_size / 1024 / 1024, 1),
        "status": job.status,
        "processed": job.processed,
        "failed": job.failed,
        "chunks": job.chunk_count,
        "upload_ms": round(upload_ms),
        "end_to_end_s": round(e2e_s, 2),
        "rows_per_s": round(rows / e2e_s),
        "worker_cpu_s": round(sum(cpu.values()), 2),
        "worker_cpu_s_main_then_pool": [cpu[worker.pid], *sorted((cpu[pid] for pid in pool), reverse=True)],
        "worker_peak_rss_mb": sorted(peaks.values(), reverse=True),
        "api_process_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--workdir", default=str(Path(tempfile.gettempdir()) / "techsupport-bench"))
    parser.add_argument("--invalid-ratio", type=float, default=0.01)
    parser.add_argument("--timeout", type=float, default=900, help="Per run, seconds.")
    parser.add_argument("--no-stages", action="store_true")
    parser.add_argument(
        "--store",
        nargs="+",
        choices=["configured", "discard"],
        default=["configured"],
        help="configured: the workers write through get_db() (the stand-in without MONGO_URL); "
        "discard: the workers BSON-encode the documents and drop them (benchmarks/ingestion_worker.py).",
    )
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL") or not os.environ.get("REDIS_URL"):
        sys.exit("Set DATABASE_URL and REDIS_URL (a benchmark database and Redis db).")
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    env = _env(workdir)
    os.environ.update(env)

    import django

    django.setup()
    from django.core.management import call_command

    from ingestion.sample_workbook import write_sample_workbook

    call_command("migrate", verbosity=0)
    results = {
        "machine": f"{platform.node()} {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "runs": [],
    }
    for rows in args.rows:
        path = workdir / f"tickets-{rows}.xlsx"
        if not path.exists():
            started = time.perf_counter()
            write_sample_workbook(path, rows=rows, invalid_ratio=args.invalid_ratio, seed=42)
            print(f"generated {path} in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        for store in args.store:
            results["runs"].append(_run(path, rows, env, workdir, args.timeout, store))
            print(json.dumps(results["runs"][-1]), file=sys.stderr)
    if not args.no_stages:
        smallest = min(args.rows)
        results["stages"] = _stages(workdir / f"tickets-{smallest}.xlsx", smallest)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
