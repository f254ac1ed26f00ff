"""The one MongoDB client factory. Every caller gets its database from `get_db()`.

MONGO_URL names the server: MongoDB in production, compose and the GitHub workflow; the local
document server in local mode (`make run`, var/local.env) and in `make test` (a throw-away one).
There is no in-process stand-in: every process of a deployment sees the same documents.
"""

import threading

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from pymongo import MongoClient

_lock = threading.Lock()
_client: MongoClient | None = None


def _make_client() -> MongoClient:
    if not settings.MONGO_URL:
        raise ImproperlyConfigured(
            "MONGO_URL is not set. Local mode: start `make run` (it writes var/local.env and starts the local "
            "document server); otherwise set MONGO_URL=mongodb://host:27017/techsupport."
        )
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


def get_client() -> MongoClient:
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
        if _client is not None:
            _client.close()
        _client = None


def server_description() -> dict:
    """Pings the server (raises when it does not answer) and says which one it is."""
    client = get_client()
    info = client.server_info()
    product = f"SecantusDB {info['secantusVersion']}" if "secantusVersion" in info else "MongoDB"
    host, port = client.address or ("?", 0)
    return {"server": f"{host}:{port}", "product": product, "version": info.get("version")}
