"""Benchmark-only Celery worker whose document store encodes and discards (`--store discard`).

    python benchmarks/ingestion_worker.py -A config worker --queues ingestion ...

Replaces `ingestion.services.ticket_logs_store` in this process, before the prefork pool forks,
with a function that BSON-encodes every document — the client-side cost a real MongoDB driver
pays for `insert_many` — and drops it. What remains is the pipeline's own work (parse, validate,
PostgreSQL counting, broker). Nothing in production code knows about this: the replacement is a
monkeypatch in this wrapper only. It is not MongoDB speed either; it is "no store at all".
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def encode_and_discard(documents: list[dict]) -> None:
    import bson

    for document in documents:
        bson.encode(document)


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from ingestion.services import chunks

    chunks.ticket_logs_store = encode_and_discard

    from celery.bin.celery import main as celery_main

    sys.argv = ["celery", *sys.argv[1:]]
    sys.exit(celery_main())


if __name__ == "__main__":
    main()
