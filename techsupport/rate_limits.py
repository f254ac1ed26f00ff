"""Counting a request against django-ratelimit limits, and how long a refused client waits.

django-ratelimit counts in fixed windows whose ends are offset per key (`_get_window`: the
window of key K with period P ends at the second `floor(now / P) * P + crc32(K) % P`, or one
period later if that has passed). The window covers that last second too, so the next one
starts `time_left + 1` seconds from now — the Retry-After of a refusal.
"""

import time

from django.conf import settings
from django_ratelimit import ALL, core  # core.get_usage, looked up per call (tests replace it)

from techsupport.redis_cache import cache_key, redis_client


def rate_limit_wait(request, *, group: str, key, rate: str) -> int | None:
    """Counts this request against one limit: None while under it, otherwise the seconds until
    the window that refused it ends (>= 1)."""
    usage = core.get_usage(request, group=group, key=key, rate=rate, increment=True)
    if usage is None or not usage["should_limit"]:
        return None
    # time_left is -1 when the counter could not be read (django-ratelimit then refuses).
    return max(usage["time_left"], 0) + 1


def rate_limits_wait(request, limits: list[tuple[str, object, str]]) -> int | None:
    """Counts this request against every (group, key, rate) — each counter moves on every
    attempt — and returns the longest wait among the limits that refuse it, or None."""
    waits = [rate_limit_wait(request, group=group, key=key, rate=rate) for group, key, rate in limits]
    return max((wait for wait in waits if wait is not None), default=None)


# --- The shared API limit: one Redis round trip per request ----------------------------------
# Apps register objects that name a cache key to read in the same round trip (`key(request)`:
# a key or None) and take its raw value (`deliver(request, raw)`): authentication reads the
# caller's state this way (accounts/authentication.py). techsupport imports no app.
_prefetchers: list = []


def request_prefetch_register(prefetcher) -> None:
    if prefetcher not in _prefetchers:
        _prefetchers.append(prefetcher)


def _counter_key(request, group: str, key: str, rate: str) -> tuple[str, int, int]:
    """django-ratelimit's own key and window for (group, key, rate): the same counter and the
    same Retry-After as `rate_limit_wait`."""
    limit, period = core._split_rate(rate)
    value = core._SIMPLE_KEYS[key](request)
    window = core._get_window(value, period)
    return cache_key(core._make_cache_key(group, window, rate, value, ALL)), limit, window


def api_rate_limit_wait(request, *, group: str, key: str, rate: str) -> int | None:
    """`rate_limit_wait` for the shared API limit, pipelined with the registered prefetches:
    SET NX + INCR of the counter and the prefetched GETs in one round trip (Django's cache API
    takes two for the counter alone). Without Redis, `rate_limit_wait`. Raises RedisError."""
    client = redis_client()
    if client is None:
        return rate_limit_wait(request, group=group, key=key, rate=rate)
    fetches = [(prefetcher, name) for prefetcher in _prefetchers if (name := prefetcher.key(request))]
    counting = settings.RATELIMIT_ENABLE
    if not counting and not fetches:
        return None
    pipe = client.pipeline(transaction=False)
    if counting:
        counter, limit, window = _counter_key(request, group, key, rate)
        pipe.set(counter, 0, nx=True, ex=core._split_rate(rate)[1] + core.EXPIRATION_FUDGE)
        pipe.incr(counter)
    for _, name in fetches:
        pipe.get(cache_key(name))
    results = pipe.execute()
    for (prefetcher, _), raw in zip(fetches, results[2 if counting else 0 :], strict=True):
        prefetcher.deliver(request, raw)
    if not counting or results[1] <= limit:
        return None
    return max(window - int(time.time()), 0) + 1
