from datetime import UTC, date, datetime, time, timedelta

import pytest

from ingestion.models import ImportJob, ImportRowError
from ingestion.ticket_rows import HeaderError, map_header, validate_row
from techsupport.ticket_logs import COLLECTION
from tests.ingestion.workbooks import ticket_row, workbook_bytes

TICKET = "00000000-0000-0000-0000-000000000001"


def wire(**overrides) -> list:
    """A valid wire row (what the split sends), with overrides."""
    row = ticket_row(0, **overrides)
    return [value.isoformat() if isinstance(value, datetime) else value for value in row]


@pytest.mark.django_db
def test_bad_rows_of_every_kind_are_counted_and_explained(admin_client, post_workbook, mongo_db):
    rows = [
        ticket_row(0),  # row 2: valid
        ticket_row(1, ticket_id="not-a-uuid"),  # 3
        ticket_row(2, client_id=None),  # 4
        ticket_row(3, tipo_cliente="GOLD"),  # 5
        ticket_row(4, fecha_creacion="31/31/2024"),  # 6
        ticket_row(5, fecha_resolucion=datetime(2024, 12, 31)),  # 7: before creation (2025-01-06)
        ticket_row(6, agente_id="agent-7"),  # 8
        ticket_row(7, nivel_escalamiento=-1),  # 9
        ticket_row(8, nivel_escalamiento=1.5),  # 10
        ticket_row(9, estado="PENDING"),  # 11
        ticket_row(10, ticket_id=str(ticket_row(0)[0])),  # 12: repeats row 2's ticket id
        ticket_row(11, estado="=A1"),  # 13: a formula cell: never evaluated, no cached value → empty
        ticket_row(12, tipo_cliente="GOLD", estado="PENDING"),  # 14: two errors, one failed row
        ticket_row(13, fecha_creacion="2025-02-01T10:00:00Z", fecha_resolucion=45690.5, estado="in progress"),  # 15
        ticket_row(14, agente_id=None, fecha_resolucion=None, estado="open", tipo_cliente=" vip "),  # 16: valid
    ]

    body = post_workbook(admin_client, workbook_bytes(rows)).json()

    job = ImportJob.objects.get(pk=body["processId"])
    assert (job.status, job.total, job.processed, job.failed) == ("completed_with_errors", 15, 3, 12)
    errors = list(ImportRowError.objects.filter(job=job).values_list("row_no", "column", "value", "message"))
    assert errors == [
        (3, "ticket_id", "not-a-uuid", "Must be a UUID."),
        (4, "client_id", "", "Required."),
        (5, "tipo_cliente", "GOLD", "Must be one of VIP, NORMAL."),
        (6, "fecha_creacion", "31/31/2024", "Must be a date: ISO-8601 text or an Excel date."),
        (7, "fecha_resolucion", "2024-12-31", "Must not be before fecha_creacion."),
        (8, "agente_id", "agent-7", "Must be a UUID."),
        (9, "nivel_escalamiento", "-1", "Must be an integer ≥ 0."),
        (10, "nivel_escalamiento", "1.5", "Must be an integer ≥ 0."),
        (11, "estado", "PENDING", "Must be one of OPEN, IN_PROGRESS, RESOLVED, CLOSED, ESCALATED, WAITING_CUSTOMER."),
        (12, "ticket_id", TICKET, "Duplicate ticket_id: row 2 has it already."),
        (13, "estado", "", "Required."),
        (14, "tipo_cliente", "GOLD", "Must be one of VIP, NORMAL."),
        (14, "estado", "PENDING", "Must be one of OPEN, IN_PROGRESS, RESOLVED, CLOSED, ESCALATED, WAITING_CUSTOMER."),
    ]
    assert mongo_db[COLLECTION].count_documents({}) == 3
    iso_row = mongo_db[COLLECTION].find_one({"_id": "00000000-0000-0000-0000-00000000000e"})
    # ISO text with Z, and an Excel serial number (45690.5 = 2025-02-02 12:00) for the resolution
    assert iso_row["createdAt"] == datetime(2025, 2, 1, 10, 0, tzinfo=UTC)
    assert iso_row["resolvedAt"] == datetime(2025, 2, 2, 12, 0, tzinfo=UTC)
    assert iso_row["status"] == "IN_PROGRESS"
    open_row = mongo_db[COLLECTION].find_one({"_id": "00000000-0000-0000-0000-00000000000f"})
    assert (open_row["agentId"], open_row["resolvedAt"], open_row["clientType"]) == (None, None, "VIP")


@pytest.mark.django_db
def test_a_ticket_id_repeated_in_another_spelling_is_a_duplicate(admin_client, post_workbook, mongo_db):
    spellings = [TICKET, "{" + TICKET.upper() + "}", TICKET.replace("-", "")]
    rows = [ticket_row(n, ticket_id=spelling) for n, spelling in enumerate(spellings)]

    body = post_workbook(admin_client, workbook_bytes(rows)).json()

    job = ImportJob.objects.get(pk=body["processId"])
    assert (job.status, job.total, job.processed, job.failed) == ("completed_with_errors", 3, 1, 2)
    assert list(ImportRowError.objects.filter(job=job).values_list("row_no", "message")) == [
        (3, "Duplicate ticket_id: row 2 has it already."),
        (4, "Duplicate ticket_id: row 2 has it already."),
    ]
    assert mongo_db[COLLECTION].count_documents({}) == 1


def test_validate_row_accepts_excel_date_cells_serials_and_numeric_text():
    valid, errors = validate_row(wire(fecha_creacion=45658, nivel_escalamiento="2", fecha_resolucion="2025-01-02"))

    assert errors == []
    assert valid.created_at == datetime(2025, 1, 1, tzinfo=UTC)
    assert valid.resolved_at == datetime(2025, 1, 2, tzinfo=UTC)
    assert valid.escalation_level == 2


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"fecha_creacion": True}, ("fecha_creacion", "True", "Must be a date: ISO-8601 text or an Excel date.")),
        ({"fecha_creacion": 0}, ("fecha_creacion", "0", "Must be a date: ISO-8601 text or an Excel date.")),
        (
            {"fecha_creacion": "10:30:00"},
            ("fecha_creacion", "10:30:00", "Must be a date: ISO-8601 text or an Excel date."),
        ),
        # Past year 9999 / before year 1 once in UTC: a row error, not a crash of the whole chunk.
        (
            {"fecha_creacion": "9999-12-31T23:00:00-05:00"},
            ("fecha_creacion", "9999-12-31T23:00:00-05:00", "Must be a date: ISO-8601 text or an Excel date."),
        ),
        (
            {"fecha_creacion": "0001-01-01T00:30:00+01:00"},
            ("fecha_creacion", "0001-01-01T00:30:00+01:00", "Must be a date: ISO-8601 text or an Excel date."),
        ),
        ({"nivel_escalamiento": True}, ("nivel_escalamiento", "True", "Must be an integer ≥ 0.")),
        ({"nivel_escalamiento": "²"}, ("nivel_escalamiento", "²", "Must be an integer ≥ 0.")),
        ({"nivel_escalamiento": 2**31}, ("nivel_escalamiento", str(2**31), "Must be at most 2147483647.")),
        ({"estado": None}, ("estado", "", "Required.")),
        ({"estado": " =A1"}, ("estado", " =A1", "Formulas are not accepted; enter the value.")),
        ({"ticket_id": 12345}, ("ticket_id", "12345", "Must be a UUID.")),
        ({"tipo_cliente": "x" * 300}, ("tipo_cliente", "x" * 200, "Must be one of VIP, NORMAL.")),
    ],
)
def test_validate_row_rejects(overrides, error):
    valid, errors = validate_row(wire(**overrides))

    assert valid is None
    assert errors == [error]


def test_map_header_names_every_missing_column():
    with pytest.raises(HeaderError) as caught:
        map_header(["ticket_id", "estado"])

    assert str(caught.value) == (
        "The first row is missing the required columns: client_id, tipo_cliente, fecha_creacion, "
        "fecha_resolucion, agente_id, nivel_escalamiento."
    )


def test_map_header_refuses_a_column_named_twice():
    header = ["ticket_id", "client_id", "tipo_cliente", "client_type", "fecha_creacion", "fecha_resolucion"]

    with pytest.raises(HeaderError, match="names a column twice: tipo_cliente"):
        map_header([*header, "agente_id", "nivel_escalamiento", "estado"])


UPPER = "00000000-0000-0000-0000-00000000000A"
FAST_PATH_CASES = {
    "clean": wire(),
    "no resolution, no agent": wire(fecha_resolucion=None, agente_id=None),
    "offset date": wire(fecha_creacion="2025-01-01T08:30:00+05:00"),
    "z date": wire(fecha_creacion="2025-01-01T08:30:00Z"),
    "date only": wire(fecha_creacion="2025-01-01"),
    "level float": wire(nivel_escalamiento=2.0),
    "upper uuid": wire(ticket_id=UPPER),
    "braced uuid": wire(client_id="{" + TICKET + "}"),
    "padded uuid": wire(agente_id=f" {TICKET} "),
    "lower tier": wire(tipo_cliente="vip"),
    "spaced status": wire(estado="in progress"),
    "serial date": wire(fecha_creacion=45658.5),
    "padded date": wire(fecha_creacion=" 2025-01-01 "),
    "level text": wire(nivel_escalamiento="3"),
    "level half": wire(nivel_escalamiento=1.5),
    "level bool": wire(nivel_escalamiento=True),
    "level negative": wire(nivel_escalamiento=-1),
    "level huge": wire(nivel_escalamiento=2**31),
    "formula": wire(ticket_id="=A1"),
    "bad date": wire(fecha_creacion="2025-02-30"),
    "overflowing date": wire(fecha_creacion="9999-12-31T23:00-05:00"),
    "resolved first": wire(fecha_resolucion="2024-01-01T00:00:00"),
    "missing client": wire(client_id=None),
    "short row": wire()[:7],
    "long row": [*wire(), "extra"],
    "waiting": wire(estado="WAITING_CUSTOMER", fecha_resolucion=None),
    "waiting resolved": wire(estado="WAITING_CUSTOMER"),
    "waiting spaced": wire(estado="waiting customer", fecha_resolucion=None),
    # As the chunk decodes the split's JSON text, before `wire_row`: empty cells "", numbers floats
    "raw empty optionals": wire(fecha_resolucion="", agente_id="", estado="OPEN"),
    "raw blank agent": wire(agente_id="  "),
    "raw empty required": wire(client_id=""),
    "raw float level": wire(nivel_escalamiento=1.0),
    "raw serial date": wire(fecha_resolucion=45658.0),
    "raw zero date": wire(fecha_resolucion=0.0),
    "raw NaN level": wire(nivel_escalamiento=float("nan")),
    "raw NUL status": wire(estado="OPEN\x00"),
    "microsecond dates": wire(fecha_creacion="2025-01-01T08:30:00.123456", fecha_resolucion="2025-01-01T09:00:00.5"),
    "year 1": wire(fecha_creacion="0001-01-01T00:00:00", fecha_resolucion=None, estado="OPEN"),
    "year 9999": wire(fecha_creacion="9999-12-31T23:59:59.999999", fecha_resolucion=None, estado="OPEN"),
}


@pytest.mark.parametrize("row", FAST_PATH_CASES.values(), ids=FAST_PATH_CASES.keys())
def test_the_common_row_fast_path_agrees_with_the_general_rules(row):
    """`valid_row_values` takes only rows `validate_row` accepts, with the same values; every
    other row is left to `validate_row` (None)."""
    from dataclasses import astuple

    from ingestion.ticket_rows import valid_row_values, wire_row

    valid, errors = validate_row(wire_row(row))
    fast = valid_row_values(row)

    assert fast is None or (fast, errors) == (astuple(valid), [])
    assert fast is None or all(value.tzinfo is UTC for value in fast[3:5] if value is not None)


def test_the_fast_path_takes_the_usual_spellings():
    from ingestion.ticket_rows import valid_row_values

    taken = [name for name, row in FAST_PATH_CASES.items() if valid_row_values(row) is not None]

    assert taken == [
        "clean",
        "no resolution, no agent",
        "offset date",
        "z date",
        "date only",
        "level float",
        "waiting",
        "raw empty optionals",
        "raw float level",
        "microsecond dates",
        "year 1",
        "year 9999",
    ]


def test_a_waiting_customer_row_without_a_resolution_is_accepted():
    valid, errors = validate_row(wire(estado="waiting_customer", fecha_resolucion=None))

    assert errors == []
    assert (valid.status, valid.resolved_at) == ("WAITING_CUSTOMER", None)


def test_a_waiting_customer_row_with_a_resolution_is_refused():
    """The transition table reaches WAITING_CUSTOMER only from unresolved work and leaves it
    by resolving: a historical row cannot be both waiting and resolved."""
    row = wire(estado="WAITING_CUSTOMER", fecha_resolucion="2025-01-02T00:00:00")

    valid, errors = validate_row(row)

    assert valid is None
    assert errors == [
        (
            "fecha_resolucion",
            "2025-01-02T00:00:00",
            "A WAITING_CUSTOMER ticket is not resolved: leave fecha_resolucion empty.",
        )
    ]


SHEET_CELLS = [
    TICKET,
    " padded ",
    "",
    "   ",
    "nul\x00inside",
    'ünïcode "quoted" \\ text',
    3.0,
    -1.0,
    1.5,
    1e300,
    float("nan"),
    float("inf"),
    True,
    7,
    datetime(2025, 1, 2, 3, 4, 5),
    datetime(2025, 1, 2, 3, 4, 5, 678),
    date(2025, 1, 2),
    time(10, 30),
    timedelta(hours=36),
    None,
]


def _sheet_row_to_wire(values: list, positions: list[int]) -> list | None:
    """The split's own conversion until the chunk took it over: a sheet row → the canonical wire
    row, or None when every mapped cell is blank."""
    from ingestion.ticket_rows import to_wire

    width = len(values)
    row = []
    blank = True
    for position in positions:
        value = values[position] if position < width else None
        if type(value) is str:
            if not value:
                value = None
            else:
                if "\x00" in value:  # OOXML's `_x0000_` escape: PostgreSQL text and jsonb refuse NUL
                    value = value.replace("\x00", "\ufffd")
                if blank and not value.isspace():
                    blank = False
        elif value is not None:
            value = to_wire(value)
            blank = False
        row.append(value)
    return None if blank else row


def test_the_chunk_reads_the_split_text_as_the_wire_rows_it_used_to_receive():
    """The split sends the picked cells as JSON text; decoded and `wire_row`-ed in the chunk they
    are exactly the wire rows `_sheet_row_to_wire` gives (the split's conversion before, kept
    here as the reference)."""
    from ingestion.ticket_rows import cell_picker, cells_blank, decode_rows, encode_rows, wire_row

    positions = [2, 0, 1, 3, 4, 5, 6, 7]
    sheet_rows = [[None, *SHEET_CELLS[i : i + 8]] for i in range(0, len(SHEET_CELLS) - 7)]
    sheet_rows += [[None] * 9, [None, "", " ", None, "\t", "", None, "", ""], [None, *SHEET_CELLS[:3]]]
    pick = cell_picker([position + 1 for position in positions])
    sent = [None if cells_blank(pick(row)) else pick(row) for row in sheet_rows]

    received = [None if row is None else wire_row(row) for row in decode_rows(encode_rows(sent))]

    expected = [_sheet_row_to_wire(row, [position + 1 for position in positions]) for row in sheet_rows]
    assert [repr(row) for row in received] == [repr(row) for row in expected]  # repr: NaN == NaN
    assert expected[-3:-1] == [None, None]
    assert expected[0] == [None, TICKET, " padded ", "   ", "nul\ufffdinside", 'ünïcode "quoted" \\ text', 3, -1]
    assert wire_row(expected[0]) == expected[0]  # idempotent: a wire row (a replay) is unchanged


def test_the_usual_sheet_row_is_sent_without_a_copy():
    from ingestion.ticket_rows import cell_picker

    row = wire()

    assert cell_picker(list(range(8)))(row) is row
    assert cell_picker(list(range(8)))(row[:6]) == [*row[:6], None, None]
