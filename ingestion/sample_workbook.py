"""Seeded sample workbooks in the seed's format (Spanish column names), for demos, tests of
scale and the benchmark. Written with openpyxl's write-only mode: rows stream to disk, so a
million rows fit in a few tens of MB of memory."""

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from openpyxl import Workbook

from techsupport.spreadsheets import safe_cell
from tickets.states import ClientType, TicketStatus

HEADER = [
    "ticket_id",
    "client_id",
    "tipo_cliente",
    "fecha_creacion",
    "fecha_resolucion",
    "agente_id",
    "nivel_escalamiento",
    "estado",
]
# Tickets are created over the twelve months before this instant (fixed, so a seed reproduces
# the same file on any day).
PERIOD_END = datetime(2025, 12, 31, 23, 59, tzinfo=UTC)
PERIOD = timedelta(days=365)
_STATUS_WEIGHTS = [
    (TicketStatus.CLOSED, 40),
    (TicketStatus.RESOLVED, 25),
    (TicketStatus.IN_PROGRESS, 15),
    (TicketStatus.OPEN, 10),
    (TicketStatus.ESCALATED, 10),
]
INVALID_KINDS = (
    "bad_ticket_id",
    "bad_client_type",
    "bad_date",
    "resolved_before_created",
    "negative_escalation",
    "bad_status",
    "missing_client_id",
)


@dataclass(frozen=True)
class SampleStats:
    rows: int
    invalid: int


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def sample_rows(count: int, *, invalid_ratio: float = 0.0, seed: int | None = None):
    """Yields (row, is_valid) for `count` data rows."""
    rng = random.Random(seed)
    clients = [
        (_uuid(rng), ClientType.VIP if rng.random() < 0.2 else ClientType.NORMAL) for _ in range(max(1, count // 20))
    ]
    agents = [_uuid(rng) for _ in range(max(1, min(200, count // 100)))]
    statuses = [status for status, _ in _STATUS_WEIGHTS]
    weights = [weight for _, weight in _STATUS_WEIGHTS]
    period_s = int(PERIOD.total_seconds())
    start = PERIOD_END - PERIOD
    for _ in range(count):
        client_id, client_type = rng.choice(clients)
        status = rng.choices(statuses, weights)[0]
        created = start + timedelta(seconds=rng.randrange(period_s))
        created = created.replace(tzinfo=None)  # Excel cells have no time zone; read as UTC
        resolved = None
        if status in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
            # VIP tickets are resolved faster; a long tail either way.
            median_minutes = 90 if client_type == ClientType.VIP else 600
            resolved = created + timedelta(minutes=max(1, int(rng.lognormvariate(0, 0.9) * median_minutes)))
        agent = None if status == TicketStatus.OPEN and rng.random() < 0.7 else rng.choice(agents)
        level = rng.randint(1, 3) if status == TicketStatus.ESCALATED else (1 if rng.random() < 0.05 else 0)
        row = [_uuid(rng), client_id, client_type.value, created, resolved, agent, level, status.value]
        if invalid_ratio and rng.random() < invalid_ratio:
            _spoil(row, rng.choice(INVALID_KINDS))
            yield row, False
        else:
            yield row, True


def _spoil(row: list, kind: str) -> None:
    if kind == "bad_ticket_id":
        row[0] = "not-a-uuid"
    elif kind == "bad_client_type":
        row[2] = "GOLD"
    elif kind == "bad_date":
        row[3] = "31/31/2024"
    elif kind == "resolved_before_created":
        row[4] = row[3] - timedelta(hours=1)
    elif kind == "negative_escalation":
        row[6] = -1
    elif kind == "bad_status":
        row[7] = "PENDING"
    elif kind == "missing_client_id":
        row[1] = None


def write_sample_workbook(
    path,
    *,
    rows: int,
    invalid_ratio: float = 0.0,
    seed: int | None = None,
    on_row: Callable[[], None] | None = None,
) -> SampleStats:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("tickets")
    sheet.append(HEADER)
    invalid = 0
    for row, valid in sample_rows(rows, invalid_ratio=invalid_ratio, seed=seed):
        sheet.append([safe_cell(value) for value in row])
        invalid += not valid
        if on_row:
            on_row()
    workbook.save(path)
    return SampleStats(rows=rows, invalid=invalid)
