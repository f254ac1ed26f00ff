"""Reading uploaded workbooks safely: what counts as an xlsx, size caps, and the row stream.

The reader is python-calamine (Rust): ~10x faster than openpyxl's read-only mode, at the cost
of holding the first sheet in memory (~0.85 KB per 8-column row). See
docs/adr/0003-xlsx-reader.md for the measurements. It returns cached cell values only: formulas
are never evaluated and a formula's text is never taken as a value (a formula cell without a
cached result reads as empty). calamine is only ever given a workbook that
`ingestion.xlsx_prescan` has bounded (`open_first_sheet` there).
"""

import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from python_calamine import CalamineError, CalamineWorkbook

ZIP_SIGNATURE = b"PK\x03\x04"
WORKBOOK_PART = "xl/workbook.xml"
# Where an .xlsm keeps its macros. The reader never runs them, but the contract takes .xlsx only,
# and a macro-enabled file should not sit in storage where an operator might open it.
MACRO_PART = "xl/vbaProject.bin"
# A workbook has a dozen parts, a few hundred with many sheets or pictures. zipfile builds an
# object per member of the central directory (~0.5 KB each), so the directory is bounded before
# zipfile reads it: 50 MB of tiny entries would otherwise cost the API process half a GB.
MAX_ZIP_MEMBERS = 10_000
MAX_CENTRAL_DIRECTORY_BYTES = 4 * 1024 * 1024


class WorkbookError(Exception):
    """The file is not a usable workbook. `code` is a stable snake_case reason."""

    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True)
class ZipFacts:
    uncompressed_bytes: int


def check_zip_directory(file: IO[bytes]) -> None:
    """Refuses (`too_many_parts`) a zip whose central directory declares more than
    MAX_ZIP_MEMBERS members or MAX_CENTRAL_DIRECTORY_BYTES, reading only its end record.
    Leaves the file position at 0."""
    try:
        end_record = zipfile._EndRecData(file)  # the stdlib's own reader of that record (zip64 too)
    except OSError:
        end_record = None
    finally:
        file.seek(0)
    if end_record is None:
        raise WorkbookError("The file is not an xlsx workbook.", "not_xlsx")
    members, size = end_record[zipfile._ECD_ENTRIES_TOTAL], end_record[zipfile._ECD_SIZE]
    if members > MAX_ZIP_MEMBERS or size > MAX_CENTRAL_DIRECTORY_BYTES:
        raise WorkbookError(
            f"The workbook's zip directory lists {members} parts in {size // 1024} KB, over the limit of "
            f"{MAX_ZIP_MEMBERS} parts or {MAX_CENTRAL_DIRECTORY_BYTES // (1024 * 1024)} MB.",
            "too_many_parts",
        )


def inspect_xlsx(file: IO[bytes], *, max_uncompressed_bytes: int) -> ZipFacts:
    """Checks that `file` is really an xlsx (zip signature and the workbook part in the zip
    listing — the extension proves nothing) and that its declared uncompressed size is under the
    cap (a zip bomb stops here, before any XML is inflated). Reads only the signature and the
    zip's central directory. Leaves the file position at 0."""
    file.seek(0)
    signature = file.read(len(ZIP_SIGNATURE))
    file.seek(0)
    if signature != ZIP_SIGNATURE:
        raise WorkbookError("The file is not an xlsx workbook.", "not_xlsx")
    check_zip_directory(file)
    try:
        with zipfile.ZipFile(file) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise WorkbookError("The file is not an xlsx workbook.", "not_xlsx") from exc
    finally:
        file.seek(0)
    names = {member.filename for member in members}
    if WORKBOOK_PART not in names:
        raise WorkbookError("The file is not an xlsx workbook.", "not_xlsx")
    if MACRO_PART in names:
        raise WorkbookError("The file is a macro-enabled workbook (.xlsm); save it as .xlsx.", "macro_workbook")
    uncompressed = sum(member.file_size for member in members)
    if uncompressed > max_uncompressed_bytes:
        raise WorkbookError(
            f"The workbook expands to {uncompressed // (1024 * 1024)} MB, over the "
            f"{max_uncompressed_bytes // (1024 * 1024)} MB limit.",
            "uncompressed_too_large",
        )
    return ZipFacts(uncompressed_bytes=uncompressed)


class FirstSheet:
    """The first sheet of a workbook: `height` (rows in the used range, header included) and
    `rows()`, yielding `(excel_row_number, [cell values])`."""

    def __init__(self, path: str):
        try:
            self._workbook = CalamineWorkbook.from_path(path)
            self._sheet = self._workbook.get_sheet_by_index(0)
        except (CalamineError, OSError, ValueError) as exc:
            raise WorkbookError(f"The workbook could not be read: {exc}", "unreadable_workbook") from exc
        self.height = self._sheet.height
        # The used range can start below row 1 (leading blank rows); row numbers stay Excel's.
        self._first_row_no = (self._sheet.start or (0, 0))[0] + 1

    def rows(self) -> Iterator[tuple[int, list]]:
        try:
            for offset, values in enumerate(self._sheet.iter_rows()):
                yield self._first_row_no + offset, values
        except CalamineError as exc:
            raise WorkbookError(f"The workbook could not be read: {exc}", "unreadable_workbook") from exc

    def close(self) -> None:
        self._workbook.close()
