"""Small workbooks built in memory for the ingestion tests."""

import io
import uuid
from datetime import datetime

from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook

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
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def ticket_row(n: int, **overrides) -> list:
    """A valid row; `n` makes the ids deterministic."""
    values = {
        "ticket_id": str(uuid.UUID(int=n + 1)),
        "client_id": str(uuid.UUID(int=10_000 + n % 7)),
        "tipo_cliente": "VIP" if n % 3 == 0 else "NORMAL",
        "fecha_creacion": datetime(2025, 1, 1 + n % 28, 8, 30),
        "fecha_resolucion": datetime(2025, 1, 1 + n % 28, 10, 0),
        "agente_id": str(uuid.UUID(int=20_000 + n % 5)),
        "nivel_escalamiento": n % 2,
        "estado": "RESOLVED",
    }
    values.update(overrides)
    return [values[name] for name in HEADER]


def workbook_bytes(rows: list[list], header: list | None = None) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(header if header is not None else HEADER)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def upload(content: bytes, name: str = "tickets.xlsx") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=XLSX_TYPE)


def clean_rows(count: int) -> list[list]:
    return [ticket_row(n) for n in range(count)]
