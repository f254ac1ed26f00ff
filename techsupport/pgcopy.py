"""Bulk inserts of rows built without model instances: PostgreSQL's `COPY … FROM STDIN` fed with
text the caller formats, `bulk_create` elsewhere.

A burst of the SLA sweep writes tens of thousands of rows (notifications, events); making a model
instance per row and letting psycopg adapt it value by value cost more than everything else the
sweep does. `CopyRows` keeps each row as one line of COPY text format instead, and lets the caller
format once what many rows share (`add_fanout`: one notification to many recipients). On another
database it keeps the values and inserts model instances with `bulk_create`, so both paths insert
the same rows.

COPY text format: columns separated by tabs, NULL as `\\N`, and backslash, tab, newline and
carriage return escaped with a backslash (`copy_text`).
"""

import json
import os
import re
from datetime import datetime

from django.db import connection

NULL = "\\N"
_SPECIAL = re.compile(r"[\\\t\n\r]")
_ESCAPES = {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _escape(text: str) -> str:
    # Most values have nothing to escape: one scan in C, and the text is returned as it is.
    if _SPECIAL.search(text) is None:
        return str(text)
    return _SPECIAL.sub(lambda match: _ESCAPES[match.group()], text)


def copy_text(value) -> str:
    """One value in COPY text format: None, strings (escaped), booleans, instants (ISO 8601 with
    their offset), dicts and lists (JSON), numbers and uuids."""
    if value is None:
        return NULL
    if isinstance(value, str):
        return _escape(value)
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict | list):
        return _escape(json.dumps(value))
    return str(value)


class Uuid4Pool:
    """`uuid4_strings` drawn in blocks, for callers that want a few ids at a time."""

    BLOCK = 1024

    def __init__(self):
        self._ids: list[str] = []

    def take(self, count: int) -> list[str]:
        if len(self._ids) < count:
            self._ids += uuid4_strings(max(count, self.BLOCK))
        taken, self._ids = self._ids[:count], self._ids[count:]
        return taken


def uuid4_strings(count: int) -> list[str]:
    """`count` random (version 4, RFC 4122) uuids as strings, from one read of the OS's random
    source: the same ids `str(uuid.uuid4())` makes, at a fraction of the cost per id."""
    raw = bytearray(os.urandom(16 * count))
    raw[6::16] = bytes((byte & 0x0F) | 0x40 for byte in raw[6::16])  # version 4
    raw[8::16] = bytes((byte & 0x3F) | 0x80 for byte in raw[8::16])  # RFC 4122 variant
    h = raw.hex()
    return [
        f"{h[i : i + 8]}-{h[i + 8 : i + 12]}-{h[i + 12 : i + 16]}-{h[i + 16 : i + 20]}-{h[i + 20 : i + 32]}"
        for i in range(0, 32 * count, 32)
    ]


class CopyRows:
    """Rows of `model` for one bulk insert, given as values of `fields` (attribute names, in
    order; the others take their database default: leave an auto-increment id out)."""

    def __init__(self, model, fields: list[str]):
        self.model = model
        self.fields = fields
        self.as_text = connection.vendor == "postgresql"
        self.rows: list = []  # lines of COPY text on PostgreSQL, tuples of values elsewhere

    def __len__(self) -> int:
        return len(self.rows)

    def add(self, values) -> None:
        self.rows.append("\t".join(map(copy_text, values)) if self.as_text else tuple(values))

    def add_lines(self, lines: list[str]) -> None:
        """Rows the caller formatted itself (`copy_text` per value, tabs between): PostgreSQL only
        (`as_text`)."""
        self.rows += lines

    def add_instance(self, instance) -> None:
        self.add([getattr(instance, name) for name in self.fields])

    def insert(self) -> None:
        """Inserts every row (one COPY, or one bulk_create) and forgets them."""
        if not self.rows:
            return
        if not self.as_text:
            instances = [self.model(**dict(zip(self.fields, row, strict=True))) for row in self.rows]
            self.model.objects.bulk_create(instances)
        else:
            meta = self.model._meta
            columns = ", ".join(connection.ops.quote_name(meta.get_field(name).column) for name in self.fields)
            with (
                connection.cursor() as cursor,
                cursor.cursor.copy(f"COPY {connection.ops.quote_name(meta.db_table)} ({columns}) FROM STDIN") as copy,
            ):
                copy.write("\n".join(self.rows) + "\n")
        self.rows = []
