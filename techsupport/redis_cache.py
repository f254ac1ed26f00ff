"""The Redis client behind the default cache, for the few hot paths that talk to Redis directly:
one pipelined round trip per API request (rate limit + the caller's auth state) instead of
Django's cache calls (two round trips for a counter, pickled values)."""

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache


def redis_client():
    """The default cache's redis.Redis client (shared connection pool), or None when the cache is
    not Redis (local mode, tests without REDIS_URL): callers then use the cache API."""
    backend = caches["default"]
    if not isinstance(backend, RedisCache):
        return None
    # get_client() builds a new client object per call (~90 µs); one per backend instance serves.
    client = backend.__dict__.get("_raw_redis_client")
    if client is None:
        client = backend.__dict__["_raw_redis_client"] = backend._cache.get_client(write=True)
    return client


def cache_key(key: str) -> str:
    """`key` as the default cache names it (prefix and version), so raw and cache-API access meet."""
    return caches["default"].make_key(key)
