"""Row errors of a job as a CSV (streamed) or xlsx download. Every cell follows the product's
formula-escaping rule (techsupport/spreadsheets.py): values come from uploaded files."""

import csv
import tempfile

from django.http import FileResponse, StreamingHttpResponse
from openpyxl import Workbook

from ingestion.models import ImportJob
from techsupport.spreadsheets import csv_row, xlsx_row

HEADER = ["row", "column", "value", "message"]


class _Echo:
    def write(self, value):
        return value


def _rows(errors):
    yield from errors.values_list("row_no", "column", "value", "message").iterator(chunk_size=2000)


def errors_csv_response(job: ImportJob, errors) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())

    def lines():
        yield writer.writerow(HEADER)
        for row in _rows(errors):
            yield writer.writerow(csv_row(row))

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{job.id}-errors.csv"'
    return response


def errors_xlsx_response(job: ImportJob, errors) -> FileResponse:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("errors")
    sheet.append(HEADER)
    for row in _rows(errors):
        sheet.append(xlsx_row(sheet, row))
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
