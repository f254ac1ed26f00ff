"""The one MongoDB client factory. Every caller gets its database from `get_db()`.

With MONGO_URL set it is a real pymongo client (production, compose, the GitHub workflow).
Without it, an in-process stand-in (mongomock) that lives as long as the process: embedded mode
and tests. Code must stay within what both support; see docs/adr/0002-store-split.md.
"""

import threading

from django.conf import settings

_lock = threading.Lock()
_client = None


def is_embedded() -> bool:
    return not settings.MONGO_URL


def _make_client():
    if is_embedded():
        import mongomock

        _patch_standin_bulk_write()
        return mongomock.MongoClient(tz_aware=True)
    from pymongo import MongoClient

    timeout = settings.MONGO_TIMEOUT_MS
    return MongoClient(
        settings.MONGO_URL,
        tz_aware=True,
        serverSelectionTimeoutMS=timeout,
        connectTimeoutMS=timeout,
        socketTimeoutMS=timeout * 6,
        retryWrites=True,
        appname="techsupport-pro",
    )


def get_client():
    global _client
    if _client is None:
        with _lock:
            if _client is None:
                _client = _make_client()
    return _client


def get_db():
    return get_client()[settings.MONGO_DB_NAME]


def reset_client() -> None:
    """Forget the client (tests; after fork in prefork workers the driver reconnects anyway)."""
    global _client
    with _lock:
        if _client is not None and not is_embedded():
            _client.close()
        _client = None


def ping() -> None:
    """Raises when the document store does not answer."""
    db = get_db()
    if is_embedded():
        db.list_collection_names()
    else:
        db.command("ping")


def _patch_standin_bulk_write() -> None:
    """pymongo 4.20 passes `sort=` to bulk operations, which mongomock 4.3 does not accept;
    drop it (we never sort bulk updates) so `bulk_write` works the same on both."""
    from mongomock.collection import BulkOperationBuilder

    if getattr(BulkOperationBuilder, "_techsupport_patched", False):
        return
    for name in ("add_update", "add_replace"):
        original = getattr(BulkOperationBuilder, name)

        def patched(self, *args, _original=original, **kwargs):
            kwargs.pop("sort", None)
            return _original(self, *args, **kwargs)

        setattr(BulkOperationBuilder, name, patched)
    BulkOperationBuilder._techsupport_patched = True
