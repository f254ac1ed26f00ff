"""`make run`: the whole product on one machine, with nothing but Python.

    python -m localmode run [--host H] [--port P]   # what `make run` calls
    python -m localmode docstore                     # only the document server (`make docstore`)
    python -m localmode init                         # only write var/local.env if it is missing

`run` writes `var/local.env` on first start, starts the local document server (data in
`var/docstore/`), prepares the database (migrations, first admin, periodic tasks, Mongo indexes,
demo data when empty), then supervises a Celery worker with beat on the local file broker and the
web server (gunicorn, as in production). Ctrl-C (or SIGTERM) stops the web server and the worker,
then the document server, in that order; if any of them dies, the others are stopped too. Set DATABASE_URL / REDIS_URL /
MONGO_URL (in the environment or var/local.env) to use real services instead of the local ones.
"""

import argparse
import fcntl
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

from localmode import docstore, settings_file

ROOT = settings_file.ROOT
# The broker files of the task queues (settings.CELERY_TASK_QUEUES); pidbox replies are not tasks.
_TASK_QUEUE_FILES = {f"{queue}.msg" for queue in ("ingestion", "sla", "notifications", "projections", "default")}
BIN = Path(sys.executable).parent
LOG_DIR = ROOT / "var" / "log"
SETUP_COMMANDS = (
    "migrate --noinput",
    "ensure_admin",
    "setup_periodic_tasks",
    "ensure_mongo_indexes",
    "seed_demo --if-empty",
)
_SETUP_SCRIPT = (
    "import sys, django; django.setup(); from django.core.management import call_command; "
    "[call_command(*command.split()) for command in sys.argv[1:]]"
)


def _effective(values: dict[str, str]) -> dict[str, str]:
    """What the Django processes will see: var/local.env, overridden by the environment."""
    return {**values, **os.environ}


def _source(key: str, values: dict[str, str]) -> str:
    if key in os.environ:
        return "your environment"
    return "var/local.env" if key in values else "local default"


def _local_docstore_port(config: dict[str, str], values: dict[str, str]) -> int | None:
    """The port of the local document server when MONGO_URL is still the one local.env names."""
    url = config.get("MONGO_URL", "")
    if not url or url != values.get("MONGO_URL"):
        return None
    parts = urlsplit(url)
    return parts.port if parts.hostname in ("127.0.0.1", "localhost") else None


def _banner(config, values, created: bool, host: str, port: str, docstore_port: int | None) -> str:
    admin = config.get("DEFAULT_ADMIN_EMAIL", "admin@techsupport.pro")
    password = config.get("DEFAULT_ADMIN_PASSWORD", "admin123")
    data_dir = values.get("DOCSTORE_DATA", "var/docstore")
    lines = [
        "TechSupport Pro — local mode",
        f"  settings   var/local.env{' (written now)' if created else ''}; variables in your environment win over it.",
        "             .env is docker compose's file: local mode does not read it.",
        "  database   "
        + (
            f"{urlsplit(config['DATABASE_URL']).hostname} (DATABASE_URL)"
            if config.get("DATABASE_URL")
            else "SQLite, var/db.sqlite3"
        ),
        "  documents  "
        + (
            f"local document server 127.0.0.1:{docstore_port}, data in {data_dir}/"
            if docstore_port
            else f"{urlsplit(config.get('MONGO_URL', '')).netloc} (MONGO_URL)"
        ),
        "  tasks      Celery worker + beat on "
        + ("Redis (REDIS_URL)" if config.get("REDIS_URL") else "the local file broker, var/broker/"),
        f"  admin      {admin} / {password}  (from {_source('DEFAULT_ADMIN_PASSWORD', values)}; "
        "set when the admin is first created)",
        f"  open       http://{host}:{port}/admin/  ·  API docs http://{host}:{port}/api/docs",
        "  mail       var/mail/ (one file per delivery batch)",
        f"  logs       the document server's in {LOG_DIR.relative_to(ROOT)}/docstore.log",
    ]
    return "\n".join(lines)


def web_server_command(host: str, port: str) -> list[str]:
    """The production server with the production config (gunicorn.conf.py), in one process so
    that its in-memory cache (the login rate limits) is the only one: it answers concurrent
    requests as production does (runserver's 10-connection backlog resets the rest)."""
    return [
        *(str(BIN / "gunicorn"), "config.wsgi:application", "--config", str(ROOT / "gunicorn.conf.py")),
        *("--bind", f"{host}:{port}", "--workers", "1", "--threads", os.environ.get("GUNICORN_THREADS", "8")),
    ]


class LocalModeError(Exception):
    """Local mode cannot start; the message says what to do."""


def _port_in_use(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def _start_docstore(port: int, values: dict[str, str]) -> docstore.DocStoreServer | None:
    """Starts this checkout's document server; None when it already runs (`make docstore`).
    Never uses a server that serves another folder: two checkouts would mix their documents."""
    data = ROOT / values.get("DOCSTORE_DATA", "var/docstore")
    if docstore.serving(data):
        print(f"This checkout's document server already runs on 127.0.0.1:{port}: using it.", flush=True)
        return None
    if _port_in_use(port):
        raise LocalModeError(
            f"Port {port} (MONGO_URL in var/local.env) is taken by another program — perhaps another "
            "checkout's document server. Stop it, or give this checkout a free port in var/local.env."
        )
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    return docstore.DocStoreServer(port=port, storage_path=str(data), log_path=str(LOG_DIR / "docstore.log")).start()


def _child(command: list[str], env: dict) -> subprocess.Popen:
    """A supervised process: in its own session (the terminal's Ctrl-C and hang-up reach the
    supervisor, which stops everything in order) and gone with the supervisor if that dies."""
    return subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True, preexec_fn=docstore.die_with_parent)


class _QueueWatch:
    """The local worker can stay alive but take nothing (seen once after its pool processes were
    killed): tasks then wait in the broker folder and nothing else would notice. `stalled()` is
    True when task messages have waited STALL_S while none was taken and the worker's processes
    did no work (a long import keeps them busy: that is not a stall)."""

    STALL_S = 180
    BUSY_CPU_S = 1.0  # CPU seconds of work since the last progress that count as progress

    def __init__(self, folder: Path | None):
        self.folder = folder
        self.waiting: set[str] = set()
        self.cpu_s = 0.0  # the worker's CPU seconds at the last progress
        self.progress_at = time.monotonic()

    def stalled(self, worker_pid: int) -> bool:
        if self.folder is None or not self.folder.is_dir():
            return False
        waiting = {name for name in os.listdir(self.folder) if name.partition(".")[2] in _TASK_QUEUE_FILES}
        cpu_s = _tree_cpu_s(worker_pid)
        if not waiting or self.waiting - waiting or cpu_s - self.cpu_s > self.BUSY_CPU_S:
            self.progress_at, self.cpu_s = time.monotonic(), cpu_s
        self.waiting = waiting
        return time.monotonic() - self.progress_at > self.STALL_S


def _tree_cpu_s(pid: int) -> float:
    """CPU seconds of a process and its children (the worker and its pool), Linux."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return 0.0
    total = 0.0
    for member in [pid, *map(int, children)]:
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _stop(processes: list[subprocess.Popen], timeout: float = 20.0) -> None:
    """SIGTERM to each still running (a warm shutdown for the worker), then wait, then kill."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
    deadline = time.monotonic() + timeout
    for process in processes:
        try:
            process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _worker_command() -> list[str]:
    command = [str(BIN / "celery"), "-A", "config", "worker", "--beat", "--loglevel", "INFO"]
    return [*command, "--concurrency", os.environ.get("CELERY_CONCURRENCY", "2"), "--hostname", "local@%h"]


def _supervise(children: dict[str, subprocess.Popen], server, env: dict, watch: _QueueWatch, stopping: list) -> int:
    """Until a stop signal: any process that dies stops the rest (exit 1); a worker that takes
    nothing while tasks wait is restarted."""
    while not stopping:
        watched = {**children, **({"document server": server.process} if server else {})}
        dead = [name for name, process in watched.items() if process.poll() is not None]
        if dead:
            print(f"The {dead[0]} stopped (exit {watched[dead[0]].returncode}); stopping the rest.", flush=True)
            return 1
        if watch.stalled(children["worker"].pid):
            print(f"No queued task taken for {watch.STALL_S} s: restarting the worker.", flush=True)
            _stop([children["worker"]])
            children["worker"] = _child(_worker_command(), env)
            watch.progress_at = time.monotonic()
        time.sleep(0.5)
    return 0


def _broker_queue(config: dict[str, str]) -> Path | None:
    """The local file broker's queue folder (None with Redis: its own tools watch it)."""
    if config.get("REDIS_URL"):
        return None
    return Path(config.get("LOCAL_BROKER_DIR", ROOT / "var" / "broker")) / "queue"


def _run_lock():
    """Held while `make run` runs: a second one in this checkout would start a second worker and
    beat on the same data (and find the web port taken)."""
    lock = open(ROOT / "var" / "run.lock", "w")  # noqa: SIM115 - held for the process's lifetime
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as exc:
        raise LocalModeError("`make run` already runs for this checkout (in another terminal).") from exc
    return lock


def run(host: str, port: str) -> int:
    values, created = settings_file.ensure()
    config = _effective(values)
    docstore_port = _local_docstore_port(config, values)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "PYTHONUNBUFFERED": "1"}
    stopping: list = []
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # Ctrl-C, kill, or the terminal closed
        signal.signal(signum, lambda *_: stopping.append(True))
    children: dict[str, subprocess.Popen] = {}
    server = None
    try:
        lock = _run_lock()
        print(_banner(config, values, created, host, port, docstore_port), flush=True)
        server = _start_docstore(docstore_port, values) if docstore_port else None
        subprocess.run([sys.executable, "-c", _SETUP_SCRIPT, *SETUP_COMMANDS], cwd=ROOT, env=env, check=True)
        children["worker"] = _child(_worker_command(), env)
        children["web server"] = _child(web_server_command(host, port), env)
        return _supervise(children, server, env, _QueueWatch(_broker_queue(config)), stopping)
    except KeyboardInterrupt:
        return 0
    except LocalModeError as exc:
        print(exc, file=sys.stderr)
        return 1
    except subprocess.CalledProcessError as exc:
        print(f"Preparing the database failed (exit {exc.returncode}).", file=sys.stderr)
        return 1
    finally:
        _stop(list(reversed(children.values())))
        if server is not None:
            server.stop()
            print("Local document server stopped.", flush=True)
        if "lock" in locals():
            lock.close()


def serve_docstore() -> int:
    """The document server alone, in the foreground, for commands run without the web server."""
    values, _ = settings_file.ensure()
    port = _local_docstore_port(_effective(values), values)
    if port is None:
        print("MONGO_URL is not the local document server's: nothing to start.", file=sys.stderr)
        return 1
    try:
        server = _start_docstore(port, values)
    except LocalModeError as exc:
        print(exc, file=sys.stderr)
        return 1
    if server is None:
        return 0
    print(f"Local document server on 127.0.0.1:{port}; Ctrl-C stops it.", flush=True)
    try:
        server.process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localmode", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run", help="the whole product (make run)")
    run_parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    run_parser.add_argument("--port", default=os.environ.get("PORT", "8000"))
    commands.add_parser("docstore", help="only the local document server (make docstore)")
    commands.add_parser("init", help="write var/local.env if it is missing")
    args = parser.parse_args(argv)
    if args.command == "run":
        return run(args.host, args.port)
    if args.command == "docstore":
        return serve_docstore()
    _, created = settings_file.ensure()
    print(f"{settings_file.PATH.relative_to(ROOT)} {'written' if created else 'already there'}.")
    return 0
