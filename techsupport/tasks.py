"""The task kit every app's tasks.py and outbox use: one way to declare a task, to publish the
deliveries of outbox rows after commit, to retry the rows that failed, and to re-drive the rows
left undelivered. See docs/adr/0009-listeners-and-outbox-kit.md.

Declaring: `@shared_task(**task_options(limit_s=120))` — acks_late + reject_on_worker_lost (a
worker killed mid-task gets its message redelivered; the services make a second delivery
harmless), a soft time limit (`SoftTimeLimitExceeded` raised inside the task, which fails it) and a
hard one 30 s later (the pool process is replaced). `retry_transient=True` adds automatic retries
of connection failures and timeouts (TRANSIENT_ERRORS) with exponential backoff and jitter.

The outbox (docs/design.md): a side effect is a row written in the transaction of the change that
causes it. `publish_on_commit(task, ids)` enqueues its delivery when that transaction commits (the
fast path); `redrive(rows, ...)` re-enqueues rows still undelivered a while later (the slow path: a
crash between commit and publish, the broker down at that moment). Delivery tasks take a list of
row ids and are idempotent per row; `retry_rows` retries the ids that failed with backoff.
"""

import logging
import random
import socket
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from django.db import InterfaceError, OperationalError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerOperationalError
from pymongo.errors import AutoReconnect, ConnectionFailure, NetworkTimeout, ServerSelectionTimeoutError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

# Faults that pass: a store or the broker unreachable or slow for a moment.
TRANSIENT_ERRORS = (
    AutoReconnect,
    ConnectionFailure,
    NetworkTimeout,
    ServerSelectionTimeoutError,
    RedisConnectionError,
    RedisTimeoutError,
    BrokerOperationalError,
    OperationalError,
    InterfaceError,
    TimeoutError,
    socket.timeout,
)
HARD_LIMIT_GRACE_S = 30
PUBLISH_CHUNK = 500  # ids per message: publishing costs about a millisecond a message


def task_options(*, limit_s: int, retry_transient: bool = False, max_retries: int = 3) -> dict:
    """The options of every task of the project (see the module docstring)."""
    options = {
        "acks_late": True,
        "reject_on_worker_lost": True,
        "soft_time_limit": limit_s,
        "time_limit": limit_s + HARD_LIMIT_GRACE_S,
    }
    if retry_transient:
        options.update(
            autoretry_for=TRANSIENT_ERRORS,
            retry_backoff=True,
            retry_backoff_max=60,
            retry_jitter=True,
            max_retries=max_retries,
        )
    return options


def publish(task, ids: Iterable, *, chunk: int = PUBLISH_CHUNK, per_row: bool = False, kwargs=None) -> bool:
    """Enqueues `task` for `ids`: `task(ids_chunk)` per `chunk` ids, or `task(id, **kwargs)` per id
    with `per_row`, over one broker connection. Never raises: a broker failure is logged and the
    rows stay undelivered for the re-drive. Returns whether everything was published."""
    ids = [str(i) if not isinstance(i, int) else i for i in ids]
    if not ids:
        return True
    messages = (
        [((i,), kwargs or {}) for i in ids]
        if per_row
        else [((ids[start : start + chunk],), kwargs or {}) for start in range(0, len(ids), chunk)]
    )
    try:
        with task.app.producer_or_acquire() as producer:
            for args, message_kwargs in messages:
                task.apply_async(args, message_kwargs, producer=producer)
    except Exception:
        logger.exception("could not publish; the re-drive will", extra={"task": task.name, "rows": len(ids)})
        return False
    return True


def publish_on_commit(task, ids: Iterable, **options) -> None:
    """`publish` once the current transaction commits (nothing if it rolls back)."""
    ids = list(ids)
    if ids:
        transaction.on_commit(lambda: publish(task, ids, **options))


def redrive(
    rows: QuerySet,
    *,
    task,
    after: timedelta,
    now: datetime | None = None,
    batch: int = 1000,
    stale_field: str = "updated_at",
    touch: dict | None = None,
    **publish_options,
) -> int:
    """Re-enqueues up to `batch` of `rows` (the undelivered ones) whose `stale_field` is older
    than `after`; returns how many. With `touch` (field values, e.g. `{"updated_at": now}`) those
    rows are updated first, so the next run leaves them alone while they wait in the queue."""
    now = now or timezone.now()
    stale = rows.filter(**{f"{stale_field}__lte": now - after}).order_by(stale_field)
    ids = list(stale.values_list("pk", flat=True)[:batch])
    if not ids:
        return 0
    if touch:
        rows.model.objects.filter(pk__in=ids).update(**touch)
    publish(task, ids, **publish_options)
    return len(ids)


def retry_rows(task, pending: list, *, base_s: float, give_up: Callable[[list], None] | None = None) -> int:
    """In a delivery task bound to its ids: retries the `pending` ids (those that failed) with
    exponential backoff and jitter — base_s, 2·base_s, 4·base_s … — up to the task's
    `max_retries`; after the last one hands them to `give_up` (e.g. mark them failed; the
    re-drive tries again later). Returns how many were given up."""
    if not pending:
        return 0
    retries = task.request.retries
    if retries >= task.max_retries:
        if give_up is not None:
            give_up(pending)
        logger.warning("delivery retries exhausted", extra={"task": task.name, "rows": len(pending)})
        return len(pending)
    countdown = base_s * 2**retries + random.uniform(0, base_s)
    raise task.retry(args=(pending,), countdown=countdown)
