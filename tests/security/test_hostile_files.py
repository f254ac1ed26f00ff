"""A corpus of hostile and malformed uploads, built at test time (tests/security/hostile_workbooks.py).
Each one ends in a clear refusal (413/415 at upload), a failed job with a reason, or row errors —
never a crash, a hang, a stuck job or a memory blow-up. The 1,048,576-row file is too big for the
unit suite: benchmarks/hostile_files.py generates it and measures time and peak RSS."""

import io
import zipfile

import pytest
from openpyxl import Workbook, load_workbook

from ingestion.models import ImportJob, ImportRowError
from techsupport.ticket_logs import COLLECTION
from tests.ingestion.workbooks import HEADER, clean_rows, ticket_row, workbook_bytes
from tests.security.hostile_workbooks import (
    OLE_SIGNATURE,
    billion_laughs_shared_strings,
    external_entity_doctype,
    header_and_rows,
    minimal_xlsx,
    sheet_xml,
    with_declared_size,
)

FINISHED = {"completed", "completed_with_errors", "failed"}


def _text_row(n: int, **overrides) -> list:
    """ticket_row as plain text cells (for the hand-written sheet XML)."""
    return [value.isoformat() if hasattr(value, "isoformat") else value for value in ticket_row(n, **overrides)]


def _errors(job) -> list[tuple]:
    return list(ImportRowError.objects.filter(job=job).values_list("row_no", "column", "message"))


# --- Refused at the door -----------------------------------------------------------------


def _truncated_xlsx() -> bytes:
    data = workbook_bytes(clean_rows(3))
    return data[: len(data) // 2]


def _docx_like_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("content", "name"),
    [
        pytest.param(b"ticket_id,client_id\n1,2\n", "tickets.xlsx", id="csv-renamed-xlsx"),
        pytest.param(b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "tickets.xlsx", id="png"),
        pytest.param(OLE_SIGNATURE + b"\0" * 4096, "tickets.xlsx", id="encrypted-ole-container"),
        pytest.param(_truncated_xlsx(), "tickets.xlsx", id="truncated-zip"),
        pytest.param(_docx_like_zip(), "tickets.xlsx", id="zip-without-workbook"),
        pytest.param(b"", "tickets.xlsx", id="empty-file"),
    ],
)
def test_files_that_are_not_xlsx_are_415_and_create_no_job(post_file, content, name):
    response, job, _ = post_file(content, name)

    assert response.status_code in (400, 415)
    body = response.json()
    assert set(body) == {"message", "code", "details"}
    if content:
        assert (response.status_code, body["code"]) == (415, "not_xlsx")
    assert job is None
    assert ImportJob.objects.count() == 0


def test_a_macro_enabled_workbook_is_refused(post_file):
    data = minimal_xlsx(sheet_xml(header_and_rows([_text_row(1)])), macro=True)

    response, job, _ = post_file(data, "tickets.xlsm")

    assert response.status_code == 415
    assert response.json()["code"] == "macro_workbook"
    assert job is None


def test_a_zip_bomb_is_refused_before_inflating(post_file, settings):
    """50 MB of zeros compress to ~50 KB: the declared size gives it away at upload."""
    settings.INGESTION_MAX_UNCOMPRESSED_MB = 5
    data = minimal_xlsx(
        sheet_xml(header_and_rows([_text_row(1)])), extra_members={"xl/media/pad.bin": b"\0" * 50_000_000}
    )
    assert len(data) < 200_000

    response, job, elapsed = post_file(data)

    assert response.status_code == 413
    assert response.json()["code"] == "uncompressed_too_large"
    assert job is None
    assert elapsed < 5


def test_a_zip_bomb_that_lies_about_its_size_fails_the_job_unread(post_file, mongo_db):
    """The declared size says 1 KB; the sheet really inflates to 60 MB. The upload check (which
    reads only declared sizes) lets it through; the split stops at the declared size, where the
    checksum no longer matches."""
    sheet = sheet_xml(header_and_rows([_text_row(1)]), extra="<!--" + " " * 60_000_000 + "-->")
    data = with_declared_size(minimal_xlsx(sheet), "xl/worksheets/sheet1.xml", 1000)

    response, job, elapsed = post_file(data)

    assert response.status_code == 202
    job.refresh_from_db()
    assert (job.status, job.error_code) == ("failed", "unreadable_workbook")
    assert job.error_message == "The workbook could not be read: Bad CRC-32 for file 'xl/worksheets/sheet1.xml'"
    assert mongo_db[COLLECTION].count_documents({}) == 0
    assert elapsed < 10


# --- XML attacks -------------------------------------------------------------------------


def test_a_billion_laughs_entity_bomb_is_harmless(post_file, mongo_db):
    first = _text_row(1)
    sheet = sheet_xml(header_and_rows([[("raw", '<c r="A2" t="s"><v>0</v></c>'), *first[1:]]]))
    data = minimal_xlsx(sheet, shared_strings=billion_laughs_shared_strings(levels=10))

    response, job, elapsed = post_file(data)

    assert response.status_code == 202
    job.refresh_from_db()
    assert job.status == "failed"
    assert "unrecognized entity" in job.error_message  # never expanded
    assert elapsed < 5
    assert mongo_db[COLLECTION].count_documents({}) == 0


def test_an_external_entity_is_never_resolved(post_file):
    row = _text_row(1)
    cells = [*row[:7], ("raw", '<c r="H2" t="inlineStr"><is><t>&xxe;</t></is></c>')]
    data = minimal_xlsx(sheet_xml(header_and_rows([cells]), doctype=external_entity_doctype("file:///etc/passwd")))

    _, job, _ = post_file(data)

    job.refresh_from_db()
    assert job.status == "failed"
    assert "root:" not in job.error_message
    assert "unrecognized entity" in job.error_message


# --- Shapes of sheets --------------------------------------------------------------------


def test_an_empty_sheet_fails_with_a_reason(post_file):
    _, job, _ = post_file(minimal_xlsx(sheet_xml([])))

    job.refresh_from_db()
    assert (job.status, job.error_message) == ("failed", "The first sheet is empty: it needs a header row.")


def test_a_header_only_sheet_completes_empty(post_file):
    _, job, _ = post_file(workbook_bytes([]))

    job.refresh_from_db()
    assert (job.status, job.total, job.processed, job.failed) == ("completed", 0, 0, 0)


def test_columns_are_mapped_by_name_not_position(post_file, mongo_db):
    order = [7, 3, 0, 5, 1, 6, 2, 4]
    header = [HEADER[i] for i in order]
    rows = [[row[i] for i in order] for row in clean_rows(5)]

    _, job, _ = post_file(workbook_bytes(rows, header=header))

    job.refresh_from_db()
    assert (job.status, job.processed, job.failed) == ("completed", 5, 0)
    assert mongo_db[COLLECTION].count_documents({"clientType": {"$in": ["VIP", "NORMAL"]}}) == 5


def test_merged_cells_leave_the_hidden_cells_blank(post_file):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADER)
    for n in range(3):
        sheet.append(ticket_row(n, tipo_cliente="VIP"))
    sheet.merge_cells("C2:C4")  # one VIP label over three rows: rows 3 and 4 read as blank
    buffer = io.BytesIO()
    workbook.save(buffer)

    _, job, _ = post_file(buffer.getvalue())

    job.refresh_from_db()
    assert (job.status, job.total, job.processed, job.failed) == ("completed_with_errors", 3, 1, 2)
    assert _errors(job) == [(3, "tipo_cliente", "Required."), (4, "tipo_cliente", "Required.")]


def test_formulas_are_never_evaluated(post_file, mongo_db):
    rows = [
        ticket_row(0, nivel_escalamiento="=1+1"),  # no cached value: reads as blank
        ticket_row(1, estado='=HYPERLINK("http://evil.example","RESOLVED")'),
        ticket_row(2),
    ]

    _, job, _ = post_file(workbook_bytes(rows))

    job.refresh_from_db()
    assert (job.status, job.processed, job.failed) == ("completed_with_errors", 1, 2)
    assert _errors(job) == [(2, "nivel_escalamiento", "Required."), (3, "estado", "Required.")]


def test_formula_text_in_a_text_cell_is_refused_and_exported_defused(post_file, admin_client):
    """Text that looks like a formula (CSV/Excel injection) is a row error, and the error export
    prefixes it so a spreadsheet shows it as text."""
    payload = "=cmd|' /C calc'!A0"
    data = minimal_xlsx(sheet_xml(header_and_rows([_text_row(0, estado=payload), _text_row(1, estado="\t=1+1")])))

    _, job, _ = post_file(data)

    job.refresh_from_db()
    assert (job.status, job.failed) == ("completed_with_errors", 2)
    csv_text = b"".join(admin_client.get(f"/api/files/{job.pk}/errors?format=csv").streaming_content).decode()
    lines = csv_text.splitlines()
    assert lines[1] == "2,estado,'=cmd|' /C calc'!A0,Formulas are not accepted; enter the value."
    assert lines[2].startswith("3,estado,'")  # the reader drops the leading tab; defused either way
    response = admin_client.get(f"/api/files/{job.pk}/errors?format=xlsx")
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    value = sheet.cell(row=2, column=3)
    assert (value.value, value.data_type) == ("'" + payload, "s")  # text, never a formula


@pytest.mark.parametrize(
    ("created", "expected"),
    [
        pytest.param(45658.5, "2025-01-01T12:00:00+00:00", id="excel-serial-number"),
        pytest.param("2025-01-01T12:00:00Z", "2025-01-01T12:00:00+00:00", id="iso-text"),
        pytest.param("2025-01-01", "2025-01-01T00:00:00+00:00", id="date-text"),
        pytest.param("yesterday", None, id="garbage-text"),
        pytest.param(1e12, None, id="absurd-serial"),
        pytest.param(-5, None, id="negative-serial"),
        pytest.param("2025-02-30", None, id="impossible-date"),
    ],
)
def test_dates_as_numbers_text_or_garbage(post_file, mongo_db, created, expected):
    row = ticket_row(0, fecha_creacion=created, fecha_resolucion=None)

    _, job, _ = post_file(workbook_bytes([row]))

    job.refresh_from_db()
    if expected is None:
        assert (job.status, job.failed) == ("completed_with_errors", 1)
        assert _errors(job) == [(2, "fecha_creacion", "Must be a date: ISO-8601 text or an Excel date.")]
    else:
        assert (job.status, job.processed) == ("completed", 1)
        document = mongo_db[COLLECTION].find_one({})
        assert document["createdAt"].isoformat() == expected


def test_very_long_strings_are_row_errors_with_bounded_values(post_file):
    huge = "x" * 32_767  # Excel's per-cell maximum
    _, job, _ = post_file(workbook_bytes([ticket_row(0, ticket_id=huge, estado=huge), ticket_row(1)]))

    job.refresh_from_db()
    assert (job.status, job.processed, job.failed) == ("completed_with_errors", 1, 1)
    values = list(ImportRowError.objects.filter(job=job).values_list("column", "value"))
    assert [(column, len(value)) for column, value in values] == [("ticket_id", 200), ("estado", 200)]


def test_control_characters_and_nul_escapes_do_not_break_storage(post_file):
    """OOXML's `_x0000_` escape yields a NUL character, which PostgreSQL text cannot store."""
    data = minimal_xlsx(sheet_xml(header_and_rows([_text_row(0, estado="RESOLVED_x0000_\x01"), _text_row(1)])))

    _, job, _ = post_file(data)

    job.refresh_from_db()
    assert (job.status, job.processed, job.failed) == ("completed_with_errors", 1, 1)
    (error,) = ImportRowError.objects.filter(job=job)
    assert (error.row_no, error.column) == (2, "estado")
    assert "\x00" not in error.value


def test_duplicate_ticket_ids_in_one_file_keep_the_first(post_file, mongo_db):
    rows = [ticket_row(0), ticket_row(1), ticket_row(0, estado="CLOSED"), ticket_row(0, estado="OPEN")]

    _, job, _ = post_file(workbook_bytes(rows))

    job.refresh_from_db()
    assert (job.status, job.processed, job.failed) == ("completed_with_errors", 2, 2)
    assert _errors(job) == [
        (4, "ticket_id", "Duplicate ticket_id: row 2 has it already."),
        (5, "ticket_id", "Duplicate ticket_id: row 2 has it already."),
    ]
    assert mongo_db[COLLECTION].find_one({"_id": ticket_row(0)[0]})["status"] == "RESOLVED"


def test_a_hostile_file_name_is_reduced_to_a_basename(post_file):
    response, job, _ = post_file(workbook_bytes(clean_rows(1)), "../../etc/\x00passwd\u202e.xlsx")

    assert response.status_code == 202
    assert job.filename == "passwd.xlsx"
    assert job.stored_name == f"imports/{job.pk}.xlsx"
