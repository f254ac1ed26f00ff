"""Hand-built `ticket_logs` documents, inserted into the document store the test uses."""

import uuid
from datetime import UTC, datetime, timedelta

from techsupport.mongo import get_db
from techsupport.ticket_logs import COLLECTION, ticket_log_document


def at(text: str) -> datetime:
    """'2024-01-10 08:00' → aware UTC datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def agent_id(n: int) -> str:
    return str(uuid.UUID(int=n))


def log_doc(
    created: str,
    *,
    client_type: str = "NORMAL",
    minutes: float | None = None,
    agent: int | None = None,
    escalation: int = 0,
    status: str | None = None,
    source: str = "import",
    due: str | None = None,
    first_response_due: str | None = None,
    first_responded: str | None = None,
) -> dict:
    created_at = at(created)
    resolved_at = created_at + timedelta(minutes=minutes) if minutes is not None else None
    return ticket_log_document(
        ticket_id=str(uuid.uuid4()),
        client_id=str(uuid.uuid4()),
        client_type=client_type,
        created_at=created_at,
        resolved_at=resolved_at,
        agent_id=agent_id(agent) if agent is not None else None,
        escalation_level=escalation,
        status=status or ("RESOLVED" if minutes is not None else "OPEN"),
        source=source,
        updated_at=created_at,
        sla_due_at=at(due) if due is not None else None,
        first_response_due_at=at(first_response_due) if first_response_due is not None else None,
        first_responded_at=at(first_responded) if first_responded is not None else None,
    )


def insert_logs(*docs: dict) -> None:
    get_db()[COLLECTION].insert_many(list(docs))
