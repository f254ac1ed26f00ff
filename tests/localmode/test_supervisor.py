"""localmode/run.py's supervision: the stalled-worker watch and the refusals at start-up."""

import socket
import subprocess
import sys
import time

import pytest

from localmode import run


@pytest.fixture
def idle_process():
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield process
    process.kill()
    process.wait()


def _message(folder, name: str) -> None:
    (folder / name).write_text("{}")


def test_a_worker_that_takes_nothing_while_tasks_wait_is_stalled(tmp_path, idle_process, monkeypatch):
    monkeypatch.setattr(run._QueueWatch, "STALL_S", 0.3)
    watch = run._QueueWatch(tmp_path)
    _message(tmp_path, "001_x.ingestion.msg")
    _message(tmp_path, "002_x.reply.celery.pidbox.msg")  # not a task queue: ignored

    assert not watch.stalled(idle_process.pid)
    time.sleep(0.4)
    assert watch.stalled(idle_process.pid)


def test_a_taken_message_or_an_empty_queue_is_progress(tmp_path, idle_process, monkeypatch):
    monkeypatch.setattr(run._QueueWatch, "STALL_S", 0.3)
    watch = run._QueueWatch(tmp_path)
    _message(tmp_path, "001_x.ingestion.msg")
    _message(tmp_path, "002_x.sla.msg")
    watch.stalled(idle_process.pid)
    time.sleep(0.4)

    (tmp_path / "001_x.ingestion.msg").unlink()  # the worker took one
    assert not watch.stalled(idle_process.pid)
    (tmp_path / "002_x.sla.msg").unlink()
    time.sleep(0.4)
    assert not watch.stalled(idle_process.pid)  # nothing waits


def test_a_busy_worker_is_not_stalled(tmp_path, monkeypatch):
    # A long import: the queue does not move for a while, but the worker computes. Looked at
    # more often than it uses BUSY_CPU_S, as the supervisor does (every 0.5 s, 1 CPU-s).
    monkeypatch.setattr(run._QueueWatch, "STALL_S", 1.5)
    monkeypatch.setattr(run._QueueWatch, "BUSY_CPU_S", 0.2)
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        watch = run._QueueWatch(tmp_path)
        _message(tmp_path, "001_x.ingestion.msg")
        watch.stalled(busy.pid)
        for _ in range(40):
            time.sleep(0.1)
            assert not watch.stalled(busy.pid)
    finally:
        busy.kill()
        busy.wait()


def test_no_folder_no_watch(idle_process):
    assert not run._QueueWatch(None).stalled(idle_process.pid)


def test_a_docstore_port_taken_by_another_program_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(run, "ROOT", tmp_path)
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        with pytest.raises(run.LocalModeError, match=f"Port {port} .* is taken"):
            run._start_docstore(port, {})


def test_a_second_run_of_the_checkout_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(run, "ROOT", tmp_path)
    (tmp_path / "var").mkdir()
    first = run._run_lock()
    try:
        with pytest.raises(run.LocalModeError, match="already runs"):
            run._run_lock()
    finally:
        first.close()
    run._run_lock().close()  # free again once the first has gone
