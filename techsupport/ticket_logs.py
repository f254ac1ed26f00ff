"""The `ticket_logs` document: one per ticket, keyed by the ticket id (`_id`).

Written by Excel ingestion (historical rows) and by the live projection of resolved, closed and
escalated tickets; read by the report pipelines. Both writers build documents here, so the shape
cannot drift between them.
"""

from datetime import datetime

COLLECTION = "ticket_logs"


def resolution_minutes(created_at: datetime, resolved_at: datetime | None) -> float | None:
    if resolved_at is None:
        return None
    return round((resolved_at - created_at).total_seconds() / 60, 2)


def ticket_log_document(
    *,
    ticket_id: str,
    client_id: str,
    client_type: str,
    created_at: datetime,
    resolved_at: datetime | None,
    agent_id: str | None,
    escalation_level: int,
    status: str,
    source: str,
    import_job_id: str | None = None,
    updated_at: datetime,
    sla_due_at: datetime | None = None,
    first_response_due_at: datetime | None = None,
    first_responded_at: datetime | None = None,
) -> dict:
    """Datetimes must be timezone-aware UTC. `source` is "import" or "live". `slaDueAt` (live
    tickets) is the due instant the SLA clock gave the ticket, in its policy's business hours
    when it has a calendar: sla-compliance judges a log that has one by it (reports/pipelines.py);
    imported rows have none and are judged by the tier's target. `firstResponseDueAt` and
    `firstRespondedAt` (live tickets created with a first-response target) are the ticket's
    first-response due instant and its first response by a person (null while none); a log
    without a due instant (imported rows, older tickets) has no first-response figures."""
    return {
        "_id": str(ticket_id),
        "ticketId": str(ticket_id),
        "clientId": str(client_id),
        "clientType": client_type,
        "createdAt": created_at,
        "resolvedAt": resolved_at,
        "resolutionMinutes": resolution_minutes(created_at, resolved_at),
        "agentId": str(agent_id) if agent_id else None,
        "escalationLevel": int(escalation_level),
        "status": status,
        "source": source,
        "importJobId": str(import_job_id) if import_job_id else None,
        "updatedAt": updated_at,
        "slaDueAt": sla_due_at,
        "firstResponseDueAt": first_response_due_at,
        "firstRespondedAt": first_responded_at,
    }
