"""The local document server: SecantusDB, a MongoDB wire-protocol server on WiredTiger.

It is GPL-2.0 and beta, so it is installed into a virtual environment of its own
(`.venv-docstore/`, from `requirements-docstore.txt`) and only ever run as a separate process;
nothing here or in the product imports it. It is not MongoDB: the GitHub workflow runs the suite
against `mongo:7`, and no timing taken on it is MongoDB's.

Used by `make run` (data under `var/docstore/`, survives restarts) and by the test settings
(`start_throwaway`: an in-memory server per test session when MONGO_URL is not set).
"""

import atexit
import contextlib
import fcntl
import hashlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv-docstore"
REQUIREMENTS = ROOT / "requirements-docstore.txt"
SERVER = VENV / "bin" / "secantusd-py"
READY_TIMEOUT_S = 30.0


def _requirements_digest() -> str:
    return hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()


def ensure_installed(*, quiet: bool = True) -> Path:
    """Installs the server into `.venv-docstore/` unless the pinned version is already there.
    Safe when two processes ask at once (`make run` and `make test` started together): the
    second waits on the lock and finds the work done."""
    stamp = VENV / ".installed"
    digest = _requirements_digest()
    if stamp.exists() and stamp.read_text() == digest and SERVER.exists():
        return SERVER
    with open(ROOT / ".venv-docstore.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if stamp.exists() and stamp.read_text() == digest and SERVER.exists():
            return SERVER
        print("Installing the local document server (SecantusDB) into .venv-docstore/ ...", file=sys.stderr)
        python = VENV / "bin" / "python"
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        pip = [str(python), "-m", "pip", "install", "--disable-pip-version-check"]
        subprocess.run([*pip, *(["-q"] if quiet else []), "-r", str(REQUIREMENTS)], check=True)
        stamp.write_text(digest)
    return SERVER


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def answers(url: str, timeout_ms: int = 1000) -> bool:
    """Whether a document server answers a ping at `url`."""
    from pymongo import MongoClient
    from pymongo.errors import PyMongoError

    client = MongoClient(url, serverSelectionTimeoutMS=timeout_ms, connectTimeoutMS=timeout_ms)
    try:
        client.admin.command("ping")
        return True
    except PyMongoError:
        return False
    finally:
        client.close()


def die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """`preexec_fn` of a child process (Linux): it gets SIGTERM — and shuts down cleanly — if
    whoever started it dies, even by SIGKILL, so no orphan keeps a port, a data directory or a
    queue."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class DocStoreServer:
    """One server process on 127.0.0.1:`port` storing into `storage_path` (":memory:" for a
    throw-away one). `start()` returns once it answers; `stop()` shuts it down cleanly."""

    def __init__(self, *, port: int, storage_path: str, log_path: str):
        self.port = port
        self.storage_path = storage_path
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/"

    def start(self) -> "DocStoreServer":
        server = ensure_installed()
        if self.storage_path != ":memory:":
            Path(self.storage_path).mkdir(parents=True, exist_ok=True)
        command = [str(server), "--host", "127.0.0.1", "--port", str(self.port), "--storage-path", self.storage_path]
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                preexec_fn=die_with_parent,
                # Its own session: Ctrl-C in the terminal reaches the web server and the worker,
                # which may still write documents while they stop; the server is stopped last.
                start_new_session=True,
            )
        if (owner := self.owner_file()) is not None:
            owner.write_text(str(self.process.pid))
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not answers(self.url, timeout_ms=300):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"The document server did not start; its log ({self.log_path}):\n{self.log_tail()}")
            time.sleep(0.1)
        return self

    def owner_file(self) -> Path | None:
        return None if self.storage_path == ":memory:" else Path(self.storage_path) / "server.pid"

    def stop(self, timeout: float = 20.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(Path(self.log_path).read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def serving(storage_path: Path) -> bool:
    """Whether the server that `storage_path/server.pid` names is alive and serving that folder
    (another `make run` or `make docstore` of the same checkout)."""
    try:
        pid = int((storage_path / "server.pid").read_text())
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError):
        return False
    return str(storage_path).encode() in command


def start_throwaway(db_name: str) -> str:
    """An in-memory server for this process's lifetime (the test suite when MONGO_URL is not
    set); returns its URL with `db_name`. Stopped at exit, and with its parent if that dies."""
    log = tempfile.NamedTemporaryFile(prefix="techsupport-docstore-", suffix=".log", delete=False)  # noqa: SIM115
    log.close()
    server = DocStoreServer(port=free_port(), storage_path=":memory:", log_path=log.name).start()
    atexit.register(server.stop)
    atexit.register(os.unlink, log.name)
    return f"{server.url}{db_name}"
