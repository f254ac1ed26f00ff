"""Fault-injection plumbing: a TCP proxy that can be cut (a dependency "goes away" without
touching the shared PostgreSQL/Redis servers), and the real processes — gunicorn and Celery
workers — started as subprocesses with their own environment."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(condition, *, timeout: float, interval: float = 0.1, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


class TcpProxy:
    """127.0.0.1:<port> → upstream. `cut()` resets every open connection and refuses new ones
    (the server "died"); `restore()` lets traffic through again."""

    def __init__(self, upstream_port: int, upstream_host: str = "127.0.0.1"):
        self.upstream = (upstream_host, upstream_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self.port = self._listener.getsockname()[1]
        self._up = True
        self._stop = False
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self.refused = 0
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)
        self._thread.start()

    def _accept_loop(self):
        while not self._stop:
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if not self._up:
                self.refused += 1
                _reset(client)
                continue
            try:
                upstream = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                _reset(client)
                continue
            upstream.settimeout(None)
            with self._lock:
                self._sockets.update((client, upstream))
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    def _pump(self, source, target):
        try:
            while chunk := source.recv(65536):
                target.sendall(chunk)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            with self._lock:
                self._sockets.discard(source)

    def cut(self):
        self._up = False
        with self._lock:
            sockets, self._sockets = list(self._sockets), set()
        for sock in sockets:
            _reset(sock)

    def restore(self):
        self._up = True

    def close(self):
        self._stop = True
        self.cut()
        self._listener.close()
        self._thread.join(timeout=2)


def _reset(sock: socket.socket):
    """Close with RST, as a crashed peer would."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        sock.close()


def service_env(*, database_url: str, redis_url: str, **extra: str) -> dict:
    """The environment of a production-like process (DEBUG off) on the given stores."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DATABASE_URL", "REDIS_URL", "MONGO_URL", "CELERY_", "DJANGO_SETTINGS"))
    }
    env.update(
        DEBUG="0",
        DJANGO_SETTINGS_MODULE="config.settings",
        # The test process's key: tokens it issues are valid in the subprocess.
        SECRET_KEY=settings.SECRET_KEY,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="0",
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        MONGO_URL=settings.MONGO_URL,  # the test session's document server: every process shares it
        LOG_LEVEL="WARNING",
        API_RATE_LIMIT="100000/m",
        LOGIN_RATE_LIMIT_EMAIL="100000/m",
        LOGIN_RATE_LIMIT_IP="100000/m",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


@contextlib.contextmanager
def gunicorn(env: dict, *, workers: int = 1, threads: int = 2, log: Path | None = None, app: str = "config.wsgi"):
    """Serves `app` (config.wsgi) on a free port; yields the base URL."""
    port = free_port()
    out = open(log or os.devnull, "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [
            *(str(BIN / "gunicorn"), app, "-w", str(workers), "--threads", str(threads)),
            *("-b", f"127.0.0.1:{port}", "--timeout", "30", "--graceful-timeout", "5"),
        ],
        cwd=ROOT,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _answers(f"{base}/health"), timeout=30, what="gunicorn to answer /health")
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        out.close()


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.RequestException:
        return False


def start_worker(
    env: dict, *, queues: str = "ingestion", log: Path | None = None, pool: str = "solo", include: str = ""
) -> subprocess.Popen:
    """A Celery worker process. The solo pool runs one task at a time in the worker process
    itself, so SIGKILL of this pid kills the task mid-flight; with `pool="prefork"` a task that
    kills its own process kills a child, which the worker replaces. `queues=""`: every queue.
    `include`: extra task modules."""
    out = open(log or os.devnull, "ab")  # noqa: SIM115 - owned by the process
    return subprocess.Popen(
        [
            *(str(BIN / "celery"), "-A", "config", "worker", "--concurrency", "1", "-P", pool),
            *(("--queues", queues) if queues else ()),
            *("--loglevel", "INFO", "--without-gossip", "--without-mingle", "--without-heartbeat"),
            *(("--include", include) if include else ()),
        ],
        cwd=ROOT,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
    )


def kill9(process: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            kill9(process)
