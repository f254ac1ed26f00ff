"""The local stack as `make run` runs it — gunicorn and a Celery worker on the local file broker,
one SQLite file, the session's document server — started for tests that need real processes
(tests/localmode/test_local_stack.py, tests/browser/)."""

import contextlib
import os
import subprocess
import sys
from pathlib import Path

import requests
from django.conf import settings
from pymongo import MongoClient

from localmode.run import web_server_command
from tests.faults.harness import ROOT, free_port, start_worker, stop, wait_for


def stack_env(folder: Path, *, mongo_url: str, admin: tuple[str, str], **extra: str) -> dict:
    """Local mode's environment (DEBUG on, no REDIS_URL: the file broker) on files in `folder`."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DATABASE_URL", "REDIS_URL"))}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DEBUG="1",
        SECRET_KEY=settings.SECRET_KEY,
        DATABASE_URL=f"sqlite:///{folder / 'db.sqlite3'}",
        MONGO_URL=mongo_url,
        LOCAL_BROKER_DIR=str(folder / "broker"),
        MEDIA_ROOT=str(folder / "media"),
        EMAIL_FILE_PATH=str(folder / "mail"),
        CELERY_TASK_ALWAYS_EAGER="0",
        DEFAULT_ADMIN_EMAIL=admin[0],
        DEFAULT_ADMIN_PASSWORD=admin[1],
        LOG_LEVEL="WARNING",
        API_RATE_LIMIT="100000/m",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.RequestException:
        return False


@contextlib.contextmanager
def local_stack(folder: Path, *, document_db: str, admin: tuple[str, str], setup=("ensure_admin",), **extra: str):
    """Migrates, runs the `setup` commands, starts the web server and a worker; yields
    {base, env, http (an API session as the admin), folder, mongo_url}; stops both and drops the
    document database on the way out."""
    mongo_url = settings.MONGO_URL.rsplit("/", 1)[0] + f"/{document_db}"
    env = stack_env(folder, mongo_url=mongo_url, admin=admin, **extra)
    for command in (["migrate", "--noinput"], *([name] for name in setup)):
        subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True, capture_output=True)
    port = free_port()
    web = subprocess.Popen(
        web_server_command("127.0.0.1", str(port)),
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(folder / "web.log", "wb"),  # noqa: SIM115 - owned by the process
    )
    worker = start_worker(env, queues="", log=folder / "worker.log")  # every queue, as `make run`
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _answers(f"{base}/health"), timeout=60, what="the web server")
        token = requests.post(f"{base}/api/auth/login", json={"email": admin[0], "password": admin[1]}, timeout=10)
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token.json()['accessToken']}"
        yield {"base": base, "env": env, "http": session, "folder": folder, "mongo_url": mongo_url}
    finally:
        stop(web)
        stop(worker)
        with MongoClient(mongo_url) as client:
            client.drop_database(document_db)
