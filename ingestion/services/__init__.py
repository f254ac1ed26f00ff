"""Writes of the ingestion pipeline, by stage: upload, split, chunks (store + count), dead letters
and replay, re-drive, and the counting of deliveries that kill their worker.

Delivery is at-least-once (acks_late, reject_on_worker_lost, retries); counting is exactly once:
a chunk is counted in the PostgreSQL transaction that inserts its unique `ImportChunk` row, and
Mongo writes are keyed by ticket id, so repeating any step changes nothing twice.
See docs/adr/0004-ingestion-exactly-once-and-dlq.md. Callers use `ingestion.services.<name>`.
"""

from ingestion.services.chunks import (
    ChunkOutcome,
    chunk_already_counted,
    chunk_count,
    chunk_validate,
    import_chunk_process,
    ticket_logs_store,
)
from ingestion.services.dead_letters import dead_letter_retry, import_chunk_dead_letter
from ingestion.services.deliveries import task_delivery_begin, task_delivery_end, worker_crash_message
from ingestion.services.redrive import import_jobs_redrive
from ingestion.services.split import import_job_fail, import_job_split
from ingestion.services.upload import display_filename, import_job_create

__all__ = [
    "ChunkOutcome",
    "chunk_already_counted",
    "chunk_count",
    "chunk_validate",
    "dead_letter_retry",
    "display_filename",
    "import_chunk_dead_letter",
    "import_chunk_process",
    "import_job_create",
    "import_job_fail",
    "import_job_split",
    "import_jobs_redrive",
    "task_delivery_begin",
    "task_delivery_end",
    "ticket_logs_store",
    "worker_crash_message",
]
