"""Dropped PostgreSQL sessions noticed without a round trip.

Django's CONN_HEALTH_CHECKS sends `SELECT 1` before the first query of every request (and
task) that reuses a session: one round trip on every request, 16 % of the list endpoint's
wall time under load (issue 13). A session the server or the network ended is visible
locally instead: PostgreSQL sends nothing to an idle session except when it goes away (the
termination notice, then end-of-file; a reset connection reads as an error), so an idle
session whose socket is readable is dropped. `close_dropped_connections()` closes such
sessions (and ones the driver already knows are closed) before a request or a task; the next
query opens a new one. A session lost without a sign (a cable pulled: no FIN, no RST) fails its
next query instead; Django then marks it (`errors_occurred`) and replaces it before the next
request — the error is the same 503 a health check would have met on its own timeout.
"""

import select

from django.db import connections


def close_dropped_connections(**kwargs) -> None:
    """Closes every open, idle PostgreSQL session whose socket has something to read (or is
    gone). Connected to `request_started`; called before each Celery task."""
    for connection in connections.all(initialized_only=True):
        if connection.vendor != "postgresql" or connection.connection is None or connection.in_atomic_block:
            continue
        if _dropped(connection.connection):
            connection.close()


def _dropped(session) -> bool:
    if session.closed or session.broken:
        return True
    try:
        readable, _, _ = select.select([session.fileno()], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)
