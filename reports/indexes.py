"""The indexes of `ticket_logs` that the report pipelines need (see docs/benchmarks.md, "Reports",
for which pipeline each one serves). `create_index` with the same keys and name is a no-op, so
this is safe to run on every deploy and on every start of `make run`."""

from pymongo import ASCENDING

from techsupport.mongo import get_db
from techsupport.ticket_logs import COLLECTION

# name → keys. Each report's leading `$match` filters on createdAt, optionally clientType.
TICKET_LOG_INDEXES: dict[str, list[tuple[str, int]]] = {
    # Date-range only: weekly-status, and every report when no tier is given.
    "createdAt": [("createdAt", ASCENDING)],
    # Tier + range: avg-resolution and sla-compliance (grouped by tier), any report with clientType.
    "clientType_createdAt": [("clientType", ASCENDING), ("createdAt", ASCENDING)],
    # top-agents: agentId not null and grouping by agent.
    "agentId_resolutionMinutes": [("agentId", ASCENDING), ("resolutionMinutes", ASCENDING)],
    # escalated-per-month: escalationLevel > 0 within the range.
    "escalationLevel_createdAt": [("escalationLevel", ASCENDING), ("createdAt", ASCENDING)],
    # Look-ups of logs by status (operators, the live projection's checks); weekly-status groups
    # on status but filters on the range, so it uses `createdAt`.
    "status_createdAt": [("status", ASCENDING), ("createdAt", ASCENDING)],
    # Logs of one import job (ingestion re-imports, support questions).
    "importJobId": [("importJobId", ASCENDING)],
}


def ticket_log_indexes_ensure() -> list[str]:
    """Creates the missing report indexes; returns the names of all of them (idempotent)."""
    collection = get_db()[COLLECTION]
    return [collection.create_index(keys, name=name) for name, keys in TICKET_LOG_INDEXES.items()]
