"""Row errors of a job as a CSV (streamed) or xlsx download."""

import csv
import tempfile

from django.http import FileResponse, StreamingHttpResponse
from openpyxl import Workbook

from ingestion.models import ImportJob

HEADER = ["row", "column", "value", "message"]


class _Echo:
    def write(self, value):
        return value


def _safe_cell(value: str) -> str:
    """Values came from an uploaded file: never let a spreadsheet read one back as a formula."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _rows(errors):
    for error in errors.values_list("row_no", "column", "value", "message").iterator(chunk_size=2000):
        row_no, column, value, message = error
        yield [row_no, column, _safe_cell(value), message]


def errors_csv_response(job: ImportJob, errors) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())

    def lines():
        yield writer.writerow(HEADER)
        for row in _rows(errors):
            yield writer.writerow(row)

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{job.id}-errors.csv"'
    return response


def errors_xlsx_response(job: ImportJob, errors) -> FileResponse:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("errors")
    sheet.append(HEADER)
    for row in _rows(errors):
        sheet.append(row)
    # write_only keeps rows out of memory; the file is spooled to disk, not held in RAM.
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it after sending
    workbook.save(spool)
    spool.seek(0)
    return FileResponse(
        spool,
        as_attachment=True,
        filename=f"import-{job.id}-errors.xlsx",
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
