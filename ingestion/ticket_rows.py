"""The ticket-log sheet: its columns, the header mapping and the validation of one row.

Split and chunk tasks exchange rows as JSON lists in the canonical column order below
(`COLUMNS`): the split sends a chunk's rows as one JSON text of the cells as read (`encode_rows`;
dates as ISO text, Excel serial numbers as numbers), the chunk decodes it and turns a row into
the canonical wire row (`wire_row`: whole numbers as integers, empty cells as null) when it needs
more than the fast path. Dead letters keep wire rows, readable in their payload. All rules for a
row live here, as pure functions.
"""

import json
import math
import operator
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.utils.dateparse import parse_date, parse_datetime

from ingestion.models import ImportRowError
from tickets.states import CLOCK_PAUSED, ClientType, TicketStatus


@dataclass(frozen=True)
class Column:
    key: str  # the canonical (Spanish) name, used in row errors
    aliases: tuple[str, ...]
    required_value: bool = True


COLUMNS: tuple[Column, ...] = (
    Column("ticket_id", ("ticket_id",)),
    Column("client_id", ("client_id",)),
    Column("tipo_cliente", ("tipo_cliente", "client_type")),
    Column("fecha_creacion", ("fecha_creacion", "created_at")),
    Column("fecha_resolucion", ("fecha_resolucion", "resolved_at"), required_value=False),
    Column("agente_id", ("agente_id", "agent_id"), required_value=False),
    Column("nivel_escalamiento", ("nivel_escalamiento", "escalation_level")),
    Column("estado", ("estado", "status")),
)
COLUMN_KEYS = tuple(column.key for column in COLUMNS)
TICKET_ID, CLIENT_ID, CLIENT_TYPE, CREATED_AT, RESOLVED_AT, AGENT_ID, ESCALATION, STATUS = range(len(COLUMNS))
_ALIAS_TO_INDEX = {alias: index for index, column in enumerate(COLUMNS) for alias in column.aliases}

# Excel's day 0 for the 1900 date system (1899-12-30 absorbs the fictitious 1900-02-29).
_EXCEL_EPOCH = datetime(1899, 12, 30, tzinfo=UTC)
# Serial numbers for 1900-01-01 .. 9999-12-31.
_EXCEL_SERIAL_RANGE = (1, 2_958_465)
MAX_ESCALATION_LEVEL = 2**31 - 1
_CLIENT_TYPES = {value.upper(): value for value in ClientType.values}
_STATUSES = {value.upper(): value for value in TicketStatus.values}
# A historical row holds a status "where the transition table allows it": a paused ticket
# (WAITING_CUSTOMER, reached from IN_PROGRESS or ESCALATED, left to IN_PROGRESS or RESOLVED)
# has no resolution yet, so such a row with fecha_resolucion is refused. Rows of the original
# statuses are judged as before (legacy sheets hold resolved OPEN rows).
UNRESOLVED_STATUSES = frozenset(CLOCK_PAUSED)


class HeaderError(Exception):
    """The header row cannot be mapped. `code`: `missing_columns` or `duplicate_columns`."""

    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.code = code


def map_header(cells: list) -> list[int]:
    """Header cells → for each canonical column, its index in the sheet row. Names are matched
    case-insensitively after trimming; Spanish names and English aliases both work; other
    columns are ignored. Raises HeaderError naming every missing (or repeated) column."""
    found: dict[int, int] = {}
    repeated: list[str] = []
    for position, cell in enumerate(cells):
        name = str(cell).strip().lower() if cell is not None else ""
        index = _ALIAS_TO_INDEX.get(name)
        if index is None:
            continue
        if index in found:
            repeated.append(COLUMNS[index].key)
        found[index] = position
    missing = [column.key for index, column in enumerate(COLUMNS) if index not in found]
    if missing:
        names = ", ".join(missing)
        noun = "column" if len(missing) == 1 else "columns"
        raise HeaderError(f"The first row is missing the required {noun}: {names}.", "missing_columns")
    if repeated:
        raise HeaderError(
            f"The first row names a column twice: {', '.join(sorted(set(repeated)))}.", "duplicate_columns"
        )
    return [found[index] for index in range(len(COLUMNS))]


def to_wire(value):
    """A cell value as a JSON-able value for the chunk message."""
    if value is None or value == "":
        return None
    if isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        # calamine reads every number as a float; whole numbers travel (and show) as integers.
        if not math.isfinite(value):
            return str(value)
        return int(value) if value.is_integer() else value
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return f"duration:{value.total_seconds()}"
    return str(value)


def wire_row(cells) -> list:
    """A row's cells in canonical order, as the sheet or a chunk's JSON text gives them → the
    canonical wire row (`to_wire` per cell; NUL → U+FFFD). Idempotent: a wire row is unchanged."""
    row = []
    for value in cells:
        if type(value) is str:
            if not value:
                value = None
            elif "\x00" in value:  # OOXML's `_x0000_` escape: PostgreSQL text and jsonb refuse NUL
                value = value.replace("\x00", "\ufffd")
        elif value is not None:
            value = to_wire(value)
        row.append(value)
    return row


def cells_blank(cells) -> bool:
    """True when every cell is blank (None, empty or only whitespace): such a row is not counted."""
    for value in cells:
        if value is None or (type(value) is str and (not value or value.isspace())):
            continue
        return False
    return True


def cell_picker(positions: list[int]):
    """A function: a sheet row → its mapped cells in canonical order, unconverted (a list or a
    tuple; cells beyond a short row are None). The usual sheet (the 8 columns in order) costs
    nothing: its row is returned as it is."""
    needed = max(positions) + 1
    getter = operator.itemgetter(*positions)
    identity = positions == list(range(len(COLUMNS)))

    def pick(values: list):
        width = len(values)
        if identity and width == needed:
            return values
        if width >= needed:
            return getter(values)
        return [values[position] if position < width else None for position in positions]

    return pick


def encode_rows(rows: list) -> str:
    """A chunk's rows (picked cells, or None for a blank row) as one JSON text: the C encoder
    writes text, numbers, booleans and nulls; dates, times and durations become `to_wire`'s
    text. The chunk decodes it (`decode_rows`) and converts the rest (`wire_row`) only for rows
    the fast path does not take: the split, the serial stage, does no per-cell Python."""
    return json.dumps(rows, default=_json_cell, ensure_ascii=False, separators=(",", ":"), check_circular=False)


def _json_cell(value):
    if type(value) is datetime:  # the one common case, once or twice per row
        return value.isoformat()
    return to_wire(value)


def decode_rows(rows: list | str) -> list:
    """A chunk's rows: the split's JSON text (`encode_rows`), or already a list (a dead letter's
    replay, a message of an earlier version)."""
    return json.loads(rows) if isinstance(rows, str) else rows


@dataclass(frozen=True)
class ValidRow:
    ticket_id: str
    client_id: str
    client_type: str
    created_at: datetime
    resolved_at: datetime | None
    agent_id: str | None
    escalation_level: int
    status: str


class _Invalid(Exception):
    def __init__(self, message: str):
        self.message = message


def _text(value) -> str:
    return value.strip() if isinstance(value, str) else ""


_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _uuid(value) -> str:
    text = _text(value).lower()
    if not text:
        raise _Invalid("Must be a UUID.")
    if _CANONICAL_UUID.fullmatch(text):
        return text  # the usual spelling; uuid.UUID() below accepts the others
    try:
        return str(uuid.UUID(text))
    except ValueError as exc:
        raise _Invalid("Must be a UUID.") from exc


def canonical_uuid(value) -> str | None:
    """The canonical spelling of a UUID cell (as stored as `_id`), or None when it is not one:
    the split's duplicate check must see `{ABC…}` and `abc…` as the same ticket, as Mongo does."""
    if type(value) is str and _CANONICAL_UUID.fullmatch(value):
        return value  # the usual spelling, once per row of the split
    try:
        return _uuid(value)
    except _Invalid:
        return None


def _choice(value, choices: dict[str, str]) -> str:
    text = _text(value).upper().replace(" ", "_")
    if text not in choices:
        raise _Invalid(f"Must be one of {', '.join(choices.values())}.")
    return choices[text]


def _instant(value) -> datetime:
    """ISO-8601 text, or an Excel date: a date cell (already text on the wire) or a serial
    number. Naive values are UTC."""
    if isinstance(value, bool):
        raise _Invalid("Must be a date: ISO-8601 text or an Excel date.")
    if isinstance(value, int | float):
        low, high = _EXCEL_SERIAL_RANGE
        if not low <= value <= high:
            raise _Invalid("Must be a date: ISO-8601 text or an Excel date.")
        return _EXCEL_EPOCH + timedelta(days=value)
    text = _text(value)
    parsed = None
    if text:
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            parsed = None
    if parsed is None and text:
        try:
            parsed = parse_datetime(text.replace("z", "Z"))
            if parsed is None:
                day = parse_date(text)
                parsed = datetime(day.year, day.month, day.day) if day else None
        except ValueError:
            parsed = None
    if parsed is None:
        raise _Invalid("Must be a date: ISO-8601 text or an Excel date.")
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError as exc:  # e.g. 9999-12-31T23:00-05:00: past year 9999 in UTC
        raise _Invalid("Must be a date: ISO-8601 text or an Excel date.") from exc


def _level(value) -> int:
    if isinstance(value, bool):
        raise _Invalid("Must be an integer ≥ 0.")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    # isdecimal, not isdigit: "²" is a digit that int() refuses.
    elif isinstance(value, str) and value.strip().isdecimal():
        value = int(value.strip())
    if not isinstance(value, int) or value < 0:
        raise _Invalid("Must be an integer ≥ 0.")
    if value > MAX_ESCALATION_LEVEL:
        raise _Invalid(f"Must be at most {MAX_ESCALATION_LEVEL}.")
    return value


_PARSERS = {
    TICKET_ID: _uuid,
    CLIENT_ID: _uuid,
    CLIENT_TYPE: lambda value: _choice(value, _CLIENT_TYPES),
    CREATED_AT: _instant,
    RESOLVED_AT: _instant,
    AGENT_ID: _uuid,
    ESCALATION: _level,
    STATUS: lambda value: _choice(value, _STATUSES),
}


_INDEXED_COLUMNS = tuple(enumerate(COLUMNS))


def _shown(value) -> str:
    return "" if value is None else str(value)[: ImportRowError.VALUE_MAX]


def validate_row(row: list) -> tuple[ValidRow | None, list[tuple[str, str, str]]]:
    """A wire row → (ValidRow, []) or (None, [(column, value, message), ...]), one error per
    offending cell."""
    parsed: list = [None] * len(COLUMNS)
    errors: list[tuple[str, str, str]] = []
    width = len(row)
    for index, column in _INDEXED_COLUMNS:
        value = row[index] if index < width else None
        if value is None or (type(value) is str and (not value or value.isspace())):
            if column.required_value:
                errors.append((column.key, "", "Required."))
            continue
        if type(value) is str and value.lstrip()[:1] == "=":
            # A formula's text is not a value; we never evaluate formulas.
            errors.append((column.key, _shown(value), "Formulas are not accepted; enter the value."))
            continue
        try:
            parsed[index] = _PARSERS[index](value)
        except _Invalid as invalid:
            errors.append((column.key, _shown(value), invalid.message))
    created, resolved = parsed[CREATED_AT], parsed[RESOLVED_AT]
    if created is not None and resolved is not None and resolved < created:
        errors.append((COLUMNS[RESOLVED_AT].key, _shown(row[RESOLVED_AT]), "Must not be before fecha_creacion."))
    if resolved is not None and parsed[STATUS] in UNRESOLVED_STATUSES:
        message = f"A {parsed[STATUS]} ticket is not resolved: leave fecha_resolucion empty."
        errors.append((COLUMNS[RESOLVED_AT].key, _shown(row[RESOLVED_AT]), message))
    if errors:
        return None, errors
    return ValidRow(*parsed), []


# --- The common row, without the general path's per-cell dispatch -------------------------
_UUID_FAST = _CANONICAL_UUID.fullmatch
_CLIENT_TYPES_EXACT = {value: value for value in ClientType.values}
_STATUSES_EXACT = {value: value for value in TicketStatus.values}


_NAIVE_EPOCH, _UTC_EPOCH = datetime(1970, 1, 1), datetime(1970, 1, 1, tzinfo=UTC)


def _utc_iso(text: str) -> datetime:
    parsed = datetime.fromisoformat(text)  # ValueError: the caller takes the general path
    if parsed.tzinfo is None:
        # = parsed.replace(tzinfo=UTC), exactly, in a tenth of its time (CPython 3.11)
        return _UTC_EPOCH + (parsed - _NAIVE_EPOCH)
    return parsed.astimezone(UTC)


def valid_row_values(row: list) -> tuple | None:
    """The parsed values of a row written the usual way — canonical lower-case UUIDs, the
    exact tier and status names, ISO-8601 text dates, a whole-number level — in the order of
    `ValidRow`'s fields; None for any other row, which `validate_row` then judges on its
    `wire_row` (it accepts every row this accepts, with the same values: a test holds them side
    by side). Takes the row as decoded from the split's JSON: empty optional cells may still be
    "" and whole numbers floats. About three times cheaper than `validate_row`: the chunks'
    validation is per-row Python."""
    if len(row) != len(COLUMNS):
        return None
    ticket_id, client_id, client_type, created, resolved, agent_id, level, status = row
    try:
        if not (type(ticket_id) is str and _UUID_FAST(ticket_id) and type(client_id) is str and _UUID_FAST(client_id)):
            return None
        if agent_id is not None and not (type(agent_id) is str and _UUID_FAST(agent_id)):
            if agent_id != "":
                return None
            agent_id = None  # an empty cell of the sheet, not yet `wire_row`'s None
        if resolved == "":
            resolved = None
        client_type, status = _CLIENT_TYPES_EXACT[client_type], _STATUSES_EXACT[status]
        if type(created) is not str or (resolved is not None and type(resolved) is not str):
            return None
        created = _utc_iso(created)
        resolved = None if resolved is None else _utc_iso(resolved)
    except (KeyError, TypeError, ValueError, OverflowError):
        return None
    if type(level) is float and level.is_integer():
        level = int(level)
    if type(level) is not int or not 0 <= level <= MAX_ESCALATION_LEVEL:
        return None
    if resolved is not None and (resolved < created or status in UNRESOLVED_STATUSES):
        return None
    return ticket_id, client_id, client_type, created, resolved, agent_id, level, status
