import csv
import io

import pytest
from openpyxl import Workbook, load_workbook

from techsupport.spreadsheets import FORMULA_TRIGGERS, csv_row, safe_cell, safe_text, xlsx_row


@pytest.mark.parametrize(
    "value",
    ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1"]
    + [f"{sign}1" for sign in "\uff1d\uff0b\uff0d\uff20\ufe66\ufe62\ufe63\ufe6b"],
)
def test_text_a_spreadsheet_could_run_gets_an_apostrophe(value):
    assert safe_text(value) == "'" + value


@pytest.mark.parametrize("value", ["tickets.xlsx", "", " =1", "'=1", "1-2", "a=b", "\n=1"])
def test_other_text_is_unchanged(value):
    assert safe_text(value) == value


def test_only_text_is_escaped():
    assert [safe_cell(value) for value in (-5, -1.5, None, True, "-5")] == [-5, -1.5, None, True, "'-5"]
    assert len(FORMULA_TRIGGERS) == 14


def test_csv_row_escapes_text_and_keeps_numbers():
    buffer = io.StringIO()
    csv.writer(buffer).writerow(csv_row(["=cmd|' /C calc'!A0", -3, None, "ok"]))

    assert buffer.getvalue() == "'=cmd|' /C calc'!A0,-3,,ok\r\n"


def test_xlsx_row_writes_text_never_a_formula():
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("s")
    sheet.append(xlsx_row(sheet, ["=1+1", '=HYPERLINK("http://x")', -5, 2.5, "plain"]))
    buffer = io.BytesIO()
    workbook.save(buffer)

    row = next(load_workbook(buffer).active.iter_rows())
    assert [(cell.value, cell.data_type) for cell in row] == [
        ("'=1+1", "s"),
        ('\'=HYPERLINK("http://x")', "s"),
        (-5, "n"),
        (2.5, "n"),
        ("plain", "s"),
    ]
