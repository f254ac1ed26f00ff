"""Counting a request against django-ratelimit limits, and how long a refused client waits.

django-ratelimit counts in fixed windows whose ends are offset per key (`_get_window`: the
window of key K with period P ends at the second `floor(now / P) * P + crc32(K) % P`, or one
period later if that has passed). The window covers that last second too, so the next one
starts `time_left + 1` seconds from now — the Retry-After of a refusal.
"""

from django_ratelimit import core  # core.get_usage, looked up per call (tests replace it)


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
