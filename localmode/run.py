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
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

from localmode import docstore, settings_file

ROOT = settings_file.ROOT
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


def _start_docstore(port: int, values: dict[str, str]) -> docstore.DocStoreServer | None:
    url = f"mongodb://127.0.0.1:{port}/"
    if docstore.answers(url, timeout_ms=500):
        print(f"A document server already answers on 127.0.0.1:{port}: using it.", flush=True)
        return None
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    data = ROOT / values.get("DOCSTORE_DATA", "var/docstore")
    return docstore.DocStoreServer(port=port, storage_path=str(data), log_path=str(LOG_DIR / "docstore.log")).start()


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


def run(host: str, port: str) -> int:
    values, created = settings_file.ensure()
    config = _effective(values)
    docstore_port = _local_docstore_port(config, values)
    print(_banner(config, values, created, host, port, docstore_port), flush=True)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "PYTHONUNBUFFERED": "1"}
    server = _start_docstore(docstore_port, values) if docstore_port else None
    children: list[subprocess.Popen] = []
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    try:
        subprocess.run([sys.executable, "-c", _SETUP_SCRIPT, *SETUP_COMMANDS], cwd=ROOT, env=env, check=True)
        worker = [str(BIN / "celery"), "-A", "config", "worker", "--beat", "--loglevel", "INFO"]
        worker += ["--concurrency", os.environ.get("CELERY_CONCURRENCY", "2"), "--hostname", "local@%h"]
        children.append(subprocess.Popen(worker, cwd=ROOT, env=env))
        children.append(subprocess.Popen(web_server_command(host, port), cwd=ROOT, env=env))
        while not stopping:
            dead = [process for process in children if process.poll() is not None]
            if dead:
                print(f"{Path(dead[0].args[0]).name} stopped (exit {dead[0].returncode}); stopping the rest.")
                return 1
            time.sleep(0.5)
        return 0
    except KeyboardInterrupt:
        return 0
    except subprocess.CalledProcessError as exc:
        print(f"Preparing the database failed (exit {exc.returncode}).", file=sys.stderr)
        return 1
    finally:
        _stop(list(reversed(children)))
        if server is not None:
            server.stop()
            print("Local document server stopped.", flush=True)


def serve_docstore() -> int:
    """The document server alone, in the foreground, for commands run without the web server."""
    values, _ = settings_file.ensure()
    port = _local_docstore_port(_effective(values), values)
    if port is None:
        print("MONGO_URL is not the local document server's: nothing to start.", file=sys.stderr)
        return 1
    server = _start_docstore(port, values)
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
