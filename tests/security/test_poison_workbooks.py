"""Poison workbooks: tiny files whose cell positions, counts or declarations would make the
reader (calamine) allocate without bound — a dense grid of rows x columns, every duplicate
cell, `uniqueCount` string slots. Each is refused by ingestion/xlsx_prescan.py before the reader
runs: the job ends `failed` with a stable `errorCode`, nothing is stored, the worker lives on.
Unusual but legitimate spellings (no `r`, prefixed elements, formatted empty cells far away)
still import. Sizes too big for the suite are in benchmarks/hostile_files.py."""

import pytest

from ingestion.models import ImportJob
from techsupport.ticket_logs import COLLECTION
from tests.ingestion.workbooks import ticket_row
from tests.security.hostile_workbooks import (
    SPREADSHEET_NS,
    cell_xml,
    header_row_xml,
    many_members_xlsx,
    minimal_xlsx,
    poison_sheet,
    shared_strings_xml,
    with_declared_size,
)


def _values(n: int) -> list:
    return [value.isoformat() if hasattr(value, "isoformat") else value for value in ticket_row(n)]


def _row(number: int, n: int, *, refs: bool = True) -> str:
    cells = "".join(
        cell_xml(f"{chr(65 + c)}{number}", value) if refs else cell_xml("", value).replace(' r=""', "")
        for c, value in enumerate(_values(n))
        if value is not None
    )
    return f'<row r="{number}">{cells}</row>' if refs else f"<row>{cells}</row>"


def _refless(rows: int) -> str:
    return "".join(_row(0, n, refs=False) for n in range(rows))


def _sheet(rows: str, **kwargs) -> bytes:
    return minimal_xlsx(poison_sheet(rows, **kwargs))


def _one_cell(row: int, ref: str, *, row_ref: str | None = None) -> str:
    return f'<row r="{row_ref or row}"><c r="{ref}"><v>1</v></c></row>'


_XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
_BIG_STYLES = minimal_xlsx(poison_sheet(""), extra_members={"xl/styles.xml": b"<styleSheet/>"})
_HUGE_TEXT = '<row r="2"><c r="A2" t="inlineStr"><is><t>' + "x" * 2_000_000 + "</t></is></c></row>"
_REFLESS_CELL = "<c><v>1</v></c>"

POISONS = {
    # positions: explicit, implied, and every spelling calamine accepts
    "cell-at-XFD1048576": (_sheet(_one_cell(1048576, "XFD1048576")), "sheet_too_wide"),
    "cell-at-XFD4000": (_sheet(_one_cell(4000, "XFD4000")), "sheet_too_wide"),
    "cell-at-BM2": (_sheet(_one_cell(2, "BM2")), "sheet_too_wide"),
    "16384-cells-without-refs": (_sheet("<row>" + _REFLESS_CELL * 16384 + "</row>"), "sheet_too_wide"),
    "cells-outside-rows": (_sheet(_REFLESS_CELL * 100), "sheet_too_wide"),
    "row-r-99999999": (_sheet(f'<row r="99999999">{_REFLESS_CELL}</row>'), "too_many_rows"),
    "row-without-ref-after-1048577": (_sheet(f'<row r="1048577"/><row>{_REFLESS_CELL}</row>'), "too_many_rows"),
    "ref-with-many-letters": (_sheet(_one_cell(2, "AAAAAAAAAAAA2")), "sheet_too_wide"),
    "ref-with-many-digits": (_sheet(_one_cell(2, "A99999999999")), "too_many_rows"),
    "lowercase-ref": (_sheet(_one_cell(2, "xfd2")), "sheet_too_wide"),
    "single-quoted-ref": (_sheet("<row r='2'><c r='XFD2'><v>1</v></c></row>"), "sheet_too_wide"),
    "spaces-around-equals": (_sheet('<row r = "2"><c r = "XFD2"><v>1</v></c></row>'), "sheet_too_wide"),
    "duplicate-r-attribute": (_sheet('<row r="2"><c r="A2" r="XFD2"><v>1</v></c></row>'), "sheet_too_wide"),
    "r-right-after-a-quote": (_sheet('<row r="2"><c s="0"r="XFD2"><v>1</v></c></row>'), "sheet_too_wide"),
    "prefixed-cell": (_sheet('<row r="2"><x:c r="XFD2"><v>1</v></x:c></row>'), "sheet_too_wide"),
    "rows-times-columns": (_sheet(_one_cell(1048576, "Q1048576")), "sheet_too_large"),
    "declared-dimension": (_sheet("", preamble='<dimension ref="A1:XFD1048576"/>'), "sheet_too_wide"),
    # counts, declarations, sizes
    "unique-count-10^12": (
        minimal_xlsx(poison_sheet(""), shared_strings=shared_strings_xml(["a"], unique_count="1000000000000")),
        "too_many_strings",
    ),
    "2-mb-of-text-in-one-cell": (_sheet(_HUGE_TEXT), "text_too_long"),
    "1025-sheets": (minimal_xlsx(poison_sheet(""), more_sheets=1024), "too_many_sheets"),
    "styles-declared-65-mb": (with_declared_size(_BIG_STYLES, "xl/styles.xml", 65 * 1024 * 1024), "part_too_large"),
    # structures calamine reads differently from any simple scan
    "doctype-in-an-irregular-sheet": (
        minimal_xlsx(poison_sheet(f"<row>{_REFLESS_CELL}</row>").replace(_XML_DECLARATION, "<!DOCTYPE x>")),
        "unreadable_workbook",
    ),
    "row-hidden-in-a-value": (_sheet('<row r="2"><c><v>1</c><row r="1"/></v></c></row>'), "unreadable_workbook"),
}


@pytest.mark.parametrize(("data", "code"), [pytest.param(*case, id=name) for name, case in POISONS.items()])
def test_a_poison_workbook_fails_its_job_with_a_code(post_file, admin_client, mongo_db, data, code):
    response, job, _ = post_file(data)

    assert response.status_code == 202
    job.refresh_from_db()
    assert (job.status, job.error_code, job.total, job.chunk_count) == ("failed", code, 0, None)
    assert job.error_message
    status = admin_client.get(f"/api/files/status/{job.pk}").json()
    assert (status["status"], status["errorCode"], status["errorMessage"]) == ("failed", code, job.error_message)
    assert mongo_db[COLLECTION].count_documents({}) == 0


def test_the_reason_names_the_column_and_the_limit(post_file):
    _, job, _ = post_file(minimal_xlsx(poison_sheet('<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>')))

    job.refresh_from_db()
    assert job.error_message == "The sheet uses column XFD, past the limit of 64 columns (BL)."


def test_limits_come_from_the_settings(post_file, settings):
    settings.INGESTION_MAX_COLUMNS = 8
    settings.INGESTION_MAX_CELLS = 80

    _, wide, _ = post_file(minimal_xlsx(poison_sheet('<row r="2"><c r="I2"><v>1</v></c></row>')))
    _, tall, _ = post_file(minimal_xlsx(poison_sheet('<row r="11"><c r="A11"><v>1</v></c></row>')))

    wide.refresh_from_db()
    tall.refresh_from_db()
    assert (wide.error_code, wide.error_message) == (
        "sheet_too_wide",
        "The sheet uses column I, past the limit of 8 columns (H).",
    )
    assert (tall.error_code, tall.error_message) == (
        "sheet_too_large",
        "The sheet's used range (11 rows by 8 columns) is over the limit of 80 cells.",
    )


def test_duplicate_cells_and_merged_ranges_are_counted(post_file, settings):
    settings.INGESTION_MAX_CELLS = 200
    duplicates = '<row r="2">' + '<c r="A2"><v>1</v></c>' * 300 + "</row>"
    merges = "<mergeCells>" + '<mergeCell ref="A1:B1"/>' * 300 + "</mergeCells>"

    _, cells, _ = post_file(minimal_xlsx(poison_sheet(duplicates)))
    _, merged, _ = post_file(minimal_xlsx(poison_sheet("", after=merges)))

    cells.refresh_from_db()
    merged.refresh_from_db()
    assert (cells.error_code, cells.error_message) == (
        "sheet_too_large",
        "The sheet holds more than 200 non-empty cells.",
    )
    assert (merged.error_code, merged.error_message) == (
        "sheet_too_large",
        "The sheet holds more than 200 merged ranges.",
    )


def test_too_many_shared_strings_are_counted(post_file, settings):
    settings.INGESTION_MAX_CELLS = 1000

    strings = shared_strings_xml(["x"] * 1500, unique_count="1")

    _, job, _ = post_file(minimal_xlsx(poison_sheet(""), shared_strings=strings))

    job.refresh_from_db()
    assert (job.error_code, job.error_message) == (
        "too_many_strings",
        "The workbook declares 1500 shared strings, over the limit of 1000.",
    )


def test_a_zip_with_too_many_parts_is_refused_at_upload(post_file):
    response, job, _ = post_file(many_members_xlsx(10_001))

    assert (response.status_code, response.json()["code"], job) == (413, "too_many_parts", None)


# --- Legitimate spellings still import ------------------------------------------------------


def test_cells_and_rows_without_references_import(post_file, mongo_db):
    _, job, _ = post_file(minimal_xlsx(poison_sheet(_refless(3))))

    job.refresh_from_db()
    assert (job.status, job.total, job.processed, job.failed) == ("completed", 3, 3, 0)
    assert mongo_db[COLLECTION].count_documents({}) == 3


def _prefixed(sheet: str) -> str:
    """The sheet as the Open XML SDK writes it: every element as `x:name`."""
    for plain, prefixed in (("<row", "<x:row"), ("</row", "</x:row"), ("<c ", "<x:c "), ("</c>", "</x:c>")):
        sheet = sheet.replace(plain, prefixed)
    return sheet.replace(f'xmlns="{SPREADSHEET_NS}"', f'xmlns:x="{SPREADSHEET_NS}" xmlns="{SPREADSHEET_NS}"')


def test_prefixed_elements_import(post_file, mongo_db):
    _, job, _ = post_file(minimal_xlsx(_prefixed(poison_sheet("".join(_row(n + 2, n) for n in range(3))))))

    job.refresh_from_db()
    assert (job.status, job.total, job.processed) == ("completed", 3, 3)


@pytest.mark.parametrize("cell", ['<y:c r="XFD2"><v>1</v></y:c>', '<c r="XFD2"><v>1</v></c>'])
def test_a_cell_with_another_prefix_than_the_sheet_is_followed(post_file, cell):
    sheet = _prefixed(poison_sheet(_row(2, 0))).replace("</x:row></sheetData>", f"{cell}</x:row></sheetData>")

    _, job, _ = post_file(minimal_xlsx(sheet))

    job.refresh_from_db()
    assert job.error_code == "sheet_too_wide"


def test_formatted_empty_cells_far_away_are_not_counted(post_file):
    rows = _row(2, 0) + '<row r="1048576"><c r="XFD1048576" s="1"/></row>'

    _, job, _ = post_file(minimal_xlsx(poison_sheet(rows)))

    job.refresh_from_db()
    assert (job.status, job.total, job.processed) == ("completed", 1, 1)


def test_a_comment_or_cdata_cannot_hide_a_position_from_the_exact_path(post_file):
    """Once a sheet leaves the normal form, the scan follows calamine through comments."""
    # 70 cells in one row for calamine; a scan that believed the fake row ends would see 70 rows
    rows = '<row r="2">' + "<c><v>1</v></c><!-- </row> --><?pi </row>?>" * 70 + "</row>"

    _, job, _ = post_file(minimal_xlsx(poison_sheet(rows)))

    job.refresh_from_db()
    assert job.error_code == "sheet_too_wide"


@pytest.mark.parametrize(
    ("row", "code", "message"),
    [
        (
            header_row_xml().replace("tipo_cliente", "tier"),
            "missing_columns",
            "The first row is missing the required column: tipo_cliente.",
        ),
        (
            header_row_xml().replace("</row>", cell_xml("I1", "status") + "</row>"),
            "duplicate_columns",
            "The first row names a column twice: estado.",
        ),
    ],
)
def test_header_failures_carry_their_code(post_file, row, code, message):
    _, job, _ = post_file(minimal_xlsx(f'<worksheet xmlns="{SPREADSHEET_NS}"><sheetData>{row}</sheetData></worksheet>'))

    job.refresh_from_db()
    assert (job.status, job.error_code, job.error_message) == ("failed", code, message)


def test_an_empty_sheet_carries_its_code(post_file):
    _, job, _ = post_file(minimal_xlsx(f'<worksheet xmlns="{SPREADSHEET_NS}"><sheetData/></worksheet>'))

    job.refresh_from_db()
    assert (job.error_code, job.error_message) == ("empty_sheet", "The first sheet is empty: it needs a header row.")
    assert ImportJob.objects.filter(status="failed").count() == 1
