"""Report rows → CSV, an aligned text table, JSON or an xlsx workbook, for the API's
`?format=csv` and `manage.py generate_report`. Only the report's flat columns are exported.
CSV and xlsx cells follow the product's one formula-escaping rule (techsupport/spreadsheets.py)."""

import csv
import io
import json
from datetime import date, datetime

from reports.pipelines import ReportFilters
from techsupport.spreadsheets import safe_cell, xlsx_row


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def rows_to_csv(columns: tuple[str, ...], rows: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        # Escaped before formatting: text is escaped, a negative number stays a number.
        writer.writerow([_cell(safe_cell(row.get(column))) for column in columns])
    return buffer.getvalue()


def rows_to_table(columns: tuple[str, ...], rows: list[dict]) -> str:
    """Columns padded to their widest cell; numbers right-aligned, text left-aligned."""
    cells = [[_cell(row.get(column)) for column in columns] for row in rows]
    widths = [max([len(column)] + [len(line[i]) for line in cells]) for i, column in enumerate(columns)]
    numeric = [
        all(isinstance(row.get(column), int | float) or row.get(column) is None for row in rows) for column in columns
    ]

    def line(values: list[str]) -> str:
        parts = [
            value.rjust(width) if is_number else value.ljust(width)
            for value, width, is_number in zip(values, widths, numeric, strict=True)
        ]
        return "  ".join(parts).rstrip()

    out = [line(list(columns)), "  ".join("-" * width for width in widths)]
    out.extend(line(values) for values in cells)
    return "\n".join(out) + "\n"


def rows_to_json(rows: list[dict]) -> str:
    return json.dumps({"data": rows}, indent=2, default=_cell) + "\n"


def rows_to_xlsx(columns: tuple[str, ...], rows: list[dict], *, title: str) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31])
    sheet.append(xlsx_row(sheet, columns))
    for row in rows:
        sheet.append(xlsx_row(sheet, (_xlsx_cell(row.get(column)) for column in columns)))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _xlsx_cell(value):
    # Excel cells cannot hold aware datetimes; numbers stay numbers.
    if value is None or isinstance(value, int | float):
        return value
    return _cell(value)


def export_filename(name: str, filters: ReportFilters, extension: str) -> str:
    """`avg-resolution_2024-01-01_2024-12-31.csv`; an open bound reads `start` / `now`."""
    if filters.start is None and filters.end is None:
        return f"{name}.{extension}"
    start = filters.start.date().isoformat() if filters.start else "start"
    end = filters.end.date().isoformat() if filters.end else "now"
    return f"{name}_{start}_{end}.{extension}"
