"""The one rule for every CSV and xlsx the product writes (API exports, management commands,
error exports): a cell a spreadsheet program could run as a formula is written as text.

OWASP's CSV-injection rule: a text value that begins with `=`, `+`, `-`, `@`, a tab or a carriage
return gets a leading apostrophe, which Excel, LibreOffice and Google Sheets read as "this is
text" and do not display. The full-width (U+FF1D, U+FF0B, U+FF0D, U+FF20) and small-form
(U+FE66, U+FE62, U+FE63, U+FE6B) lookalikes of those signs are treated the same: East Asian input
methods type them, and some spreadsheet versions normalise them to the ASCII sign. Only text is
touched: numbers, dates and booleans stay what they are, so a negative number is still a number.

xlsx: openpyxl stores a string that begins with `=` as a formula. `xlsx_row` writes every text
value as a string cell, escaped by the same rule, so nothing in an exported workbook is a
formula.
"""

from collections.abc import Iterable

FORMULA_TRIGGERS = frozenset("=+-@\t\r" + "\uff1d\uff0b\uff0d\uff20" + "\ufe66\ufe62\ufe63\ufe6b")


def safe_text(value: str) -> str:
    """`value` with a leading apostrophe when a spreadsheet could read it as a formula."""
    return "'" + value if value[:1] in FORMULA_TRIGGERS else value


def safe_cell(value):
    """`safe_text` for text; any other value unchanged."""
    return safe_text(value) if isinstance(value, str) else value


def csv_row(values: Iterable) -> list:
    """A row for `csv.writer`: text escaped, None as an empty cell, the rest as it is."""
    return ["" if value is None else safe_cell(value) for value in values]


def xlsx_row(sheet, values: Iterable) -> list:
    """A row for an openpyxl write-only `sheet`: text escaped and typed as a string cell (never
    a formula), other values as they are."""
    from openpyxl.cell import WriteOnlyCell

    cells = []
    for value in values:
        if isinstance(value, str):
            cell = WriteOnlyCell(sheet, value=safe_text(value))
            cell.data_type = "s"
            cells.append(cell)
        else:
            cells.append(value)
    return cells
