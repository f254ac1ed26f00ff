"""The Celery broker of local mode: kombu's filesystem transport, made safe for several processes.

Messages are files in one folder (`LOCAL_BROKER_DIR`, default `var/broker/`), so every process of
the checkout — the server, its worker, `manage.py import_tickets`, a `make worker` in a second
terminal — publishes to and consumes from the same queues with no server to install. Tasks take
the production path: routing, retries with backoff, dead letters, acks_late.

Two changes to kombu's transport, which creates a message file and then writes it, and hands a
message to a consumer by moving it to the system's temp folder (a copy across file systems):
- a message is written under a temporary name and renamed into place, so a consumer never reads
  an empty or half-written file;
- a consumer takes a message by renaming it into `taken/` beside the queue folder (same file
  system, atomic): of two workers polling at once exactly one gets it.

Known limit: a message held by a worker that is then killed with SIGKILL is lost (on a clean stop
kombu puts unacknowledged messages back). The periodic re-drives recover what matters: stalled
imports are resumed from the stored file, pending notifications and projections are re-enqueued
from the database.
"""

import itertools
import os
import uuid
from pathlib import Path
from queue import Empty
from time import monotonic_ns

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads


def transport_options(folder: Path) -> dict:
    """The Celery `broker_transport_options` for a broker living in `folder` (made on first use)."""
    queue = folder / "queue"
    return {
        "data_folder_in": str(queue),
        "data_folder_out": str(queue),
        "control_folder": str(folder / "control"),
        # An idle worker lists the folder 20 times a second (cheap); at 0.5 s each chunk of an
        # import waited ~0.25 s for its turn: 100k rows took 27 s instead of 7 (benchmarks/ingestion.py).
        "polling_interval": 0.05,
    }


_sequence = itertools.count()


class Channel(filesystem.Channel):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for folder in (self.data_folder_in, self.control_folder, self._taken_folder):
            os.makedirs(folder, exist_ok=True)

    @property
    def _taken_folder(self) -> str:
        return os.path.join(os.path.dirname(self.data_folder_in), "taken")

    def _put(self, queue, payload, **kwargs):
        # The name order is the publication order: a zero-padded clock, then this process's count
        # for messages published within one tick.
        name = f"{monotonic_ns():020d}_{next(_sequence):010d}_{uuid.uuid4().hex}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = os.path.join(self.data_folder_out, f".{name}.part")  # matches no queue
        try:
            with open(partial, "wb") as file:
                file.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc

    def _get(self, queue):
        wanted = f"{queue}.msg"
        for name in sorted(os.listdir(self.data_folder_in)):
            if name.partition(".")[2] != wanted:
                continue
            taken = os.path.join(self._taken_folder, name)
            try:
                os.rename(os.path.join(self.data_folder_in, name), taken)
            except OSError:
                continue  # another consumer took it first
            try:
                with open(taken, "rb") as file:
                    payload = file.read()
            finally:
                os.unlink(taken)
            return loads(bytes_to_str(payload))
        raise Empty()


class Transport(filesystem.Transport):
    Channel = Channel
