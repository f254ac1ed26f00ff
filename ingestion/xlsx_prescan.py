"""Bounds what python-calamine will allocate for a workbook, before it reads a byte of it.

calamine collects the first sheet's non-empty cells, then builds a dense grid of 32-byte cells
spanning their rows x columns: one cell at `XFD1048576` asks for 512 GiB and the Rust
allocator aborts the process (SIGABRT, nothing to catch). The grid follows the cells'
*positions*: an explicit `r="B7"` (any case, either quotes, spaces around `=`), or — for a
cell without `r` — the next column in its row and, for a `<row>` without `r`, the next row.
It also keeps every non-empty cell (duplicates included), every shared string (reserving
`uniqueCount` slots up front) and every merged range.

`prepare_workbook` therefore:

1. copies the parts the import needs — the first sheet, the shared strings, the styles — into
   a new workbook whose members are *stored* (uncompressed), under a `workbook.xml` and
   relationships written here. calamine reads that copy, so it can only ever see bytes this
   module has scanned, whatever the original's relationships, duplicate or case-folded member
   names say. Reading stored members saves calamine its own inflating, and an empty
   `<mergeCells/>` put before the sheet's data saves it a second pass over the sheet
   (`_copy_head_of_sheet`): together more than the copy and the scan cost
   (docs/adr/0003-xlsx-reader.md has the figures);
2. scans the copy (memory-mapped, C-speed regex and find calls, never a DOM):
   - fast path: every cell is written the way spreadsheet programs write it
     (`<c r="B7" s=".." t="..">`, or all with one prefix, `<x:c ...>`); one regex search finds
     the first cell that is either not in that form or beyond the widest column / the row
     bound, so only a handful of cells are looked at from Python;
   - exact path, for any other sheet (cells without `r`, mixed prefixes, lowercase or
     quoted-differently references...): a tokenizer that follows calamine's rules for implied
     positions and skips comments, CDATA and processing instructions as calamine does; a row
     of plain cells is one regex match, anything else one tag at a time;
3. refuses the workbook (`WorkbookError` with a stable code) when the used range is wider than
   `max_columns`, taller than `max_rows` data rows, covers more than `max_cells`, or when the
   sheet holds more than `max_cells` non-empty cells or merged ranges, the shared strings more
   than `max_cells` strings, or any part more than `MAX_TEXT_RUN` bytes of text without markup.
"""

import mmap
import os
import re
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache

from defusedxml import ElementTree as SafeElementTree

from ingestion.xlsx_reader import FirstSheet, WorkbookError, check_zip_directory

SHEET_PATH = "xl/worksheets/sheet1.xml"
SHARED_STRINGS_PATH = "xl/sharedStrings.xml"
STYLES_PATH = "xl/styles.xml"
_PART_NAMES = {SHEET_PATH: "sheet", SHARED_STRINGS_PATH: "shared strings part", STYLES_PATH: "styles part"}

MB = 1024 * 1024
# Parts parsed here (relationships, workbook.xml) and the styles copied for calamine.
MAX_PARSED_PART_BYTES = 4 * MB
MAX_STYLES_BYTES = 64 * MB
MAX_SHEETS = 1024
# Excel caps a cell at 32,767 characters (≤ 330 KB of XML even if every one is escaped); text
# runs are checked in aligned blocks of half this size, so a run of MAX_TEXT_RUN bytes without
# a `<` is always caught and none shorter than half of it ever is.
MAX_TEXT_RUN = 1 * MB
# The smallest XML a non-empty cell, a shared string or a merged range can take: below
# limit x these sizes a part cannot hold more than `limit` of them, so they are not counted.
_MIN_CELL_BYTES = 10  # <c><is/></c>
_MIN_STRING_BYTES = 5  # <si/>
# The part of a sheet before `sheetData` (where `<dimension>` lives) is read at most this far.
_PREAMBLE_BYTES = 16 * MB
_COUNT_BLOCK = 16 * MB
_CELL_ATTRS = r'(?: (?:s|t|cm|vm|ph)="[^"]*")*'
_FIRST_CELL = re.compile(rb"<([^\s/>:]*+:)?c(?=[\s/>])")
# A new widest column can lower the row bound (rows x columns ≤ max_cells) below rows already
# passed: the fast path then starts over, a few times at most before handing over.
_FAST_RESTARTS = 4
_TAG_REST = re.compile(rb"""(?:[^>"']+|"[^"]*"|'[^']*')*>""")


@dataclass(frozen=True)
class SheetLimits:
    max_rows: int  # data rows, the header excluded
    max_columns: int
    max_cells: int


def prepare_workbook(source: str, destination: str, limits: SheetLimits) -> None:
    """Writes to `destination` the bounded copy of `source` described in the module docstring.
    Raises WorkbookError; `destination` is safe to give calamine only when this returns."""
    try:
        with open(source, "rb") as file:
            check_zip_directory(file)
            with zipfile.ZipFile(file) as archive:
                parts = _locate_parts(archive)
                _write_copy(archive, parts, destination)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as exc:
        raise WorkbookError(f"The workbook could not be read: {exc}", "unreadable_workbook") from exc
    with open(destination, "rb") as file, mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as view:
        spans = _member_spans(file)
        if SHARED_STRINGS_PATH in spans:
            _scan_shared_strings(view, *spans[SHARED_STRINGS_PATH], limits)
        _scan_sheet(view, *spans[SHEET_PATH], limits)


# --- The copy ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Parts:
    sheet: zipfile.ZipInfo
    shared_strings: zipfile.ZipInfo | None
    styles: zipfile.ZipInfo | None
    date1904: bool


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].rsplit(":", 1)[-1]


def _member(archive: zipfile.ZipFile, names: dict[str, str], path: str) -> zipfile.ZipInfo | None:
    # calamine looks members up case-insensitively, with `\` read as `/`.
    try:
        return archive.getinfo(names.get(path.lower(), path))
    except KeyError:
        return None


def _parse(archive: zipfile.ZipFile, info: zipfile.ZipInfo | None, what: str):
    if info is None:
        raise WorkbookError(f"The workbook could not be read: it has no {what}.", "unreadable_workbook")
    if info.file_size > MAX_PARSED_PART_BYTES:
        raise WorkbookError(
            f"The workbook's {what} is {info.file_size // MB} MB, over the {MAX_PARSED_PART_BYTES // MB} MB limit.",
            "part_too_large",
        )
    try:
        return SafeElementTree.fromstring(archive.read(info))
    except Exception as exc:  # defusedxml's refusals and ParseError alike: the part is unusable
        raise WorkbookError(
            f"The workbook could not be read: its {what} is not valid XML.", "unreadable_workbook"
        ) from exc


def _relationships(archive, names, path: str) -> dict[str, tuple[str, str]]:
    root = _parse(archive, _member(archive, names, path), path)
    return {
        element.get("Id") or "": (element.get("Type") or "", element.get("Target") or "")
        for element in root.iter()
        if _local(element.tag) == "Relationship"
    }


def _locate_parts(archive: zipfile.ZipFile) -> _Parts:
    """Finds the first sheet, shared strings and styles as calamine would: the package's
    officeDocument relationship names the folder (`xl/`), the workbook's first `<sheet>` its
    relationship, whose target is the sheet."""
    names = {info.filename.replace("\\", "/").lower(): info.filename for info in archive.infolist()}
    office = [
        target
        for kind, target in _relationships(archive, names, "_rels/.rels").values()
        if kind.endswith("/relationships/officeDocument")
    ]
    if not office:
        raise WorkbookError("The workbook could not be read: it names no workbook part.", "unreadable_workbook")
    folder = office[-1][: office[-1].rfind("/") + 1].removeprefix("/")
    workbook = _parse(archive, _member(archive, names, f"{folder}workbook.xml"), "workbook.xml")
    sheets = [element for element in workbook.iter() if _local(element.tag) == "sheet"]
    if len(sheets) > MAX_SHEETS:
        raise WorkbookError(
            f"The workbook has {len(sheets)} sheets, over the limit of {MAX_SHEETS}.", "too_many_sheets"
        )
    if not sheets:
        raise WorkbookError("The workbook has no sheet.", "empty_sheet")
    rel_ids = [value for key, value in sheets[0].attrib.items() if _local(key) == "id"]
    relationships = _relationships(archive, names, f"{folder}_rels/workbook.xml.rels")
    kind, target = relationships.get(rel_ids[-1] if rel_ids else "", ("", ""))
    if not target:
        raise WorkbookError("The workbook could not be read: its first sheet has no part.", "unreadable_workbook")
    if not kind.endswith("/worksheet"):
        raise WorkbookError("The first sheet is empty: it needs a header row.", "empty_sheet")
    sheet = _member(archive, names, target[1:] if target.startswith("/") else f"{folder}{target}")
    if sheet is None:
        raise WorkbookError("The workbook could not be read: its first sheet is missing.", "unreadable_workbook")
    styles = _member(archive, names, f"{folder}styles.xml")
    if styles is not None and styles.file_size > MAX_STYLES_BYTES:
        raise WorkbookError(
            f"The workbook's styles are {styles.file_size // MB} MB, over the {MAX_STYLES_BYTES // MB} MB limit.",
            "part_too_large",
        )
    properties = [element for element in workbook.iter() if _local(element.tag) == "workbookPr"]
    date1904 = any(element.get("date1904") in ("1", "true") for element in properties)
    return _Parts(sheet, _member(archive, names, f"{folder}sharedStrings.xml"), styles, date1904)


_SPREADSHEET_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELS_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_DOC_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'


def _workbook_members(parts: _Parts) -> dict[str, str]:
    """workbook.xml and the relationships of the copy: one sheet, nothing else to follow."""
    rels = [("rId1", "worksheet", "worksheets/sheet1.xml")]
    if parts.styles is not None:
        rels.append(("rId2", "styles", "styles.xml"))
    if parts.shared_strings is not None:
        rels.append(("rId3", "sharedStrings", "sharedStrings.xml"))
    relationships = "".join(f'<Relationship Id="{i}" Type="{_DOC_RELS}/{t}" Target="{p}"/>' for i, t, p in rels)
    return {
        "[Content_Types].xml": f'{_XML}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/></Types>',
        "_rels/.rels": f'{_XML}<Relationships xmlns="{_RELS_NS}">'
        f'<Relationship Id="rId1" Type="{_DOC_RELS}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'{_XML}<workbook xmlns="{_SPREADSHEET_NS}" xmlns:r="{_DOC_RELS}">'
        f'<workbookPr date1904="{int(parts.date1904)}"/>'
        '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": f'{_XML}<Relationships xmlns="{_RELS_NS}">{relationships}</Relationships>',
    }


def _write_copy(archive: zipfile.ZipFile, parts: _Parts, destination: str) -> None:
    copies = {SHEET_PATH: parts.sheet, SHARED_STRINGS_PATH: parts.shared_strings, STYLES_PATH: parts.styles}
    with zipfile.ZipFile(destination, "w", zipfile.ZIP_STORED, allowZip64=True) as copy:
        for name, text in _workbook_members(parts).items():
            copy.writestr(name, text)
        for name, info in copies.items():
            if info is None:
                continue
            # zipfile stops at the declared size and checks the CRC: a member that inflates past
            # what it declares (the upload check trusted the declaration) ends here as BadZipFile.
            with archive.open(info) as source, copy.open(zipfile.ZipInfo(name), "w", force_zip64=True) as target:
                if name == SHEET_PATH:
                    _copy_head_of_sheet(source, target)
                _copy_rest(source, target, name)


def _copy_rest(source, target, name: str) -> None:
    """Copies in 1 MB blocks; a whole block without markup stops the copy at once (a padded
    or one-giant-cell part: `_check_text_runs` would refuse it anyway, after the whole copy)."""
    while block := source.read(MB):
        if len(block) == MB and b"<" not in block:
            raise _text_too_long(_PART_NAMES[name])
        target.write(block)


_SHEET_DATA = re.compile(rb"<(?:[^\s/>]*:)?sheetData(?=[\s/>])")
_NO_MERGED_CELLS = b"<mergeCells/>"


def _copy_head_of_sheet(source, target) -> None:
    """Copies the sheet up to its `<sheetData>` and puts an empty `<mergeCells/>` before it.
    python-calamine reads the merged ranges of a sheet with a second full pass over its XML,
    stopping at the first `<mergeCells>`: this one ends that pass at once. The import never uses
    merged ranges (a merged area's hidden cells are blank either way), and the pass was 35-40 %
    of calamine's reading time. The rest of the sheet is copied unchanged."""
    head = b""
    while len(head) < _PREAMBLE_BYTES and (block := source.read(MB)):
        head += block
        if found := _SHEET_DATA.search(head):
            target.write(head[: found.start()] + _NO_MERGED_CELLS + head[found.start() :])
            return
    target.write(head)


def _member_spans(file) -> dict[str, tuple[int, int]]:
    """Where each stored member's bytes lie in the copy."""
    spans = {}
    with zipfile.ZipFile(file) as copy:
        for info in copy.infolist():
            file.seek(info.header_offset)
            name_length, extra_length = struct.unpack("<HH", file.read(30)[26:30])
            start = info.header_offset + 30 + name_length + extra_length
            spans[info.filename] = (start, start + info.file_size)
    return spans


# --- Scans -------------------------------------------------------------------------------


def column_name(number: int) -> str:
    """1 → A, 27 → AA, 16384 → XFD."""
    name = ""
    while number:
        number, rest = divmod(number - 1, 26)
        name = chr(65 + rest) + name
    return name


def _check_text_runs(view, start: int, end: int, what: str) -> None:
    block = MAX_TEXT_RUN // 2
    for offset in range(start, end - block + 1, block):
        if view.find(b"<", offset, offset + block) < 0:
            raise _text_too_long(what)


def _text_too_long(what: str) -> WorkbookError:
    return WorkbookError(
        f"The {what} holds more than {MAX_TEXT_RUN // 2048} KB of text without markup (a cell's text, or "
        f"padding); the limit is {MAX_TEXT_RUN // MB} MB.",
        "text_too_long",
    )


def _count(view, start: int, end: int, needles: tuple[bytes, ...]) -> int:
    """Occurrences of the needles in view[start:end], in bounded slices."""
    total = 0
    overlap = max(len(needle) for needle in needles) - 1
    for offset in range(start, end, _COUNT_BLOCK):
        stop = min(end, offset + _COUNT_BLOCK)
        piece = view[offset : min(end, stop + overlap)]
        # a needle starting in the overlap is counted by the next slice
        total += sum(piece.count(n) - piece[stop - offset :].count(n) for n in needles)
    return total


def _start_tags(view, start: int, end: int, local_name: bytes):
    """The attribute bytes of every start tag `<name ...>` or `<prefix:name ...>` in the range,
    comments included (a fake in a comment only adds a candidate)."""
    position = start
    while (found := view.find(local_name, position, end)) >= 0:
        position = found + len(local_name)
        if view[found - 1 : found] not in (b"<", b":") or view[position : position + 1] not in b" \t\r\n/>":
            continue
        rest = _TAG_REST.match(view, position, end)
        if rest:
            yield view[position : rest.end() - 1]


def _number(text: bytes) -> int | None:
    match = re.match(rb"\s*\+?0*([0-9]+)", text)
    return int(match.group(1)) if match else None


def _scan_shared_strings(view, start: int, end: int, limits: SheetLimits) -> None:
    _check_text_runs(view, start, end, _PART_NAMES[SHARED_STRINGS_PATH])
    # calamine reserves `uniqueCount` slots up front: a huge declared count aborts the process.
    for attributes in _start_tags(view, start, end, b"sst"):
        for match in re.finditer(rb"""(?:^|[\s"'])uniqueCount\s*=\s*["']([^"']*)""", attributes):
            declared = _number(match.group(1))
            if declared is not None and declared > limits.max_cells:
                raise _too_many_strings(declared, limits)
    if end - start > limits.max_cells * _MIN_STRING_BYTES:
        strings = _count(view, start, end, (b"<si", b":si"))
        if strings > limits.max_cells:
            raise _too_many_strings(strings, limits)


def _too_many_strings(count: int, limits: SheetLimits) -> WorkbookError:
    return WorkbookError(
        f"The workbook declares {count} shared strings, over the limit of {limits.max_cells}.", "too_many_strings"
    )


def _scan_sheet(view, start: int, end: int, limits: SheetLimits) -> None:
    _check_text_runs(view, start, end, _PART_NAMES[SHEET_PATH])
    bounds = _Bounds(limits)
    _check_declared_dimensions(view, start, end, bounds)
    if not _scan_fast(view, start, end, bounds):
        bounds = _Bounds(limits)
        _scan_exact(view, start, end, bounds)
    elif end - start > limits.max_cells * _MIN_CELL_BYTES:
        bounds.check_count("non-empty cells", _count(view, start, end, (b' r="',)))
    if end - start > limits.max_cells * _MIN_CELL_BYTES:
        # every <mergeCell> and its <mergeCells> container: an upper bound
        bounds.check_count("merged ranges", _count(view, start, end, (b"mergeCell",)))


class _Bounds:
    """The running maximum row and column of non-empty cells, refused past the limits."""

    def __init__(self, limits: SheetLimits):
        self.limits = limits
        self.max_row = 0
        self.max_column = 0
        self.cells = 0

    def row_limit(self) -> int:
        """The last row a non-empty cell may use with the columns seen so far."""
        return min(self.limits.max_rows + 1, self.limits.max_cells // max(self.max_column, 1))

    def add(self, row: int, column: int) -> None:
        if row > self.max_row or column > self.max_column:
            self.check(max(row, self.max_row), max(column, self.max_column))
            self.max_row, self.max_column = max(row, self.max_row), max(column, self.max_column)

    def check(self, rows: int, columns: int) -> None:
        limits = self.limits
        if columns > limits.max_columns:
            raise WorkbookError(
                f"The sheet uses column {column_name(columns) if columns <= 16384 else columns}, past the limit of "
                f"{limits.max_columns} columns ({column_name(limits.max_columns)}).",
                "sheet_too_wide",
            )
        if rows - 1 > limits.max_rows:
            raise WorkbookError(
                f"The sheet has {rows - 1} data rows, over the limit of {limits.max_rows}.", "too_many_rows"
            )
        if rows * columns > limits.max_cells:
            raise WorkbookError(
                f"The sheet's used range ({rows} rows by {columns} columns) is over the limit of "
                f"{limits.max_cells} cells.",
                "sheet_too_large",
            )

    def check_count(self, what: str, count: int) -> None:
        if count > self.limits.max_cells:
            raise WorkbookError(f"The sheet holds more than {self.limits.max_cells} {what}.", "sheet_too_large")


def _reference(value: bytes, *, needs_column: bool = True) -> tuple[int, int]:
    """calamine's reading of a cell reference: letters (any case) then digits → (row, column),
    1-based. A value calamine refuses fails the whole read, so it is refused here too."""
    match = re.fullmatch(rb"([A-Za-z]*)([0-9]+)", value)
    column = 0
    if match:
        for letter in match.group(1).upper()[:8]:  # more letters are past any limit anyway
            column = column * 26 + letter - 64
        if len(match.group(1)) > 8:
            column = 26**8
    row = int(match.group(2)) if match else 0
    if not match or row == 0 or (needs_column and column == 0):
        raise WorkbookError(f"The sheet has an invalid cell reference: {value[:40]!r}.", "unreadable_workbook")
    return row, column


def _check_declared_dimensions(view, start: int, end: int, bounds: _Bounds) -> None:
    """The `<dimension ref>` calamine may reserve memory from, before the sheet's data."""
    data = view.find(b"sheetData", start, min(end, start + _PREAMBLE_BYTES))
    preamble_end = data if data >= 0 else min(end, start + _PREAMBLE_BYTES)
    for attributes in _start_tags(view, start, preamble_end, b"dimension"):
        for value in _attribute_values(attributes, _REF_ATTRIBUTE):
            corners = [_reference(part) for part in value.split(b":")]
            bounds.check(max(row for row, _ in corners), max(column for _, column in corners))


# --- Fast path ---------------------------------------------------------------------------


def _at_most(limit: str, alphabet: str, first: str) -> str:
    """A regex for the strings over `alphabet` (first character from `first`) whose value is
    at most `limit`: shorter ones, or as long and not greater character by character."""
    parts = [f"[{first}][{alphabet}]{{0,{len(limit) - 2}}}"] if len(limit) > 1 else []
    for index, char in enumerate(limit):
        smaller = "".join(c for c in (first if index == 0 else alphabet) if c < char)
        if smaller:
            tail = len(limit) - index - 1
            parts.append(re.escape(limit[:index]) + f"[{smaller}]" + (f"[{alphabet}]{{{tail}}}" if tail else ""))
    parts.append(re.escape(limit))
    return "(?:" + "|".join(parts) + ")"


_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_DIGITS = "0123456789"


@lru_cache(maxsize=128)
def _suspect_cell(max_column: int, max_row: int, prefix: str) -> re.Pattern:
    """Finds the first `<c` (with the sheet's element prefix) that is not a normal cell inside
    columns 1..max_column and rows 1..max_row: the form spreadsheet programs write (`r` first,
    then only s, t, cm, vm, ph), or that form with no value (`<c r=".." s=".."/>`: calamine
    keeps no empty cell)."""
    rows = f"(?:[1-9][0-9]{{0,{len(str(max_row)) - 2}}}|{_at_most(str(max_row), _DIGITS, _DIGITS[1:])})"
    columns = _at_most(column_name(max_column), _LETTERS, _LETTERS)
    normal = rf' r="{columns}{rows}"{_CELL_ATTRS}\s*/?>'
    empty = rf' r="[A-Z]{{1,3}}[1-9][0-9]{{0,6}}"{_CELL_ATTRS}\s*/>'
    return re.compile(rf"<{re.escape(prefix)}c(?=[\s/>])(?!{normal}|{empty})".encode())


@lru_cache(maxsize=8)
def _normal_cell(prefix: str) -> re.Pattern:
    return re.compile(rf'<{re.escape(prefix)}c r="([A-Z]{{1,3}})([1-9][0-9]{{0,6}})"{_CELL_ATTRS}\s*(/?)>'.encode())


_PREFIXED_CELL_TAG = re.compile(rb":c[\s/>]")
_UNPREFIXED_CELL = re.compile(rb"<c[\s/>]")


def _other_cells(view, start: int, end: int, prefix: str) -> bool:
    """Whether some cell is written with another prefix than the sheet's first cell (or none)."""
    if not prefix:
        return _PREFIXED_CELL_TAG.search(view, start, end) is not None
    if _UNPREFIXED_CELL.search(view, start, end):
        return True
    own = re.compile(rb"</?" + re.escape(prefix.encode()) + rb"c[\s/>]")
    # every `:c` tag must be one of ours (counted without holding the matches)
    return sum(1 for _ in _PREFIXED_CELL_TAG.finditer(view, start, end)) != sum(
        1 for _ in own.finditer(view, start, end)
    )


def _is_empty(view, cell: re.Match, end: int, prefix: str) -> bool:
    closing = f"</{prefix}c>".encode()
    return cell.group(3) == b"/" or view[cell.end() : min(end, cell.end() + len(closing))] == closing


def _scan_fast(view, start: int, end: int, bounds: _Bounds) -> bool:
    """The fast path: one regex search over the sheet, resumed after each cell that comes back
    to Python (the first in a new column, an empty cell out of range, or a cell past a limit,
    which raises WorkbookError). Returns False when a cell is not in the normal form, or not
    with the element prefix of the first cell (`<c` or `<x:c`): the caller then runs the exact
    path. Rows are bounded by the regex (`bounds.row_limit()`), columns by the widest cell
    seen; a new column that lowers the row bound starts over."""
    first = _FIRST_CELL.search(view, start, end)
    prefix = (first.group(1) or b"").decode("latin-1") if first else ""
    if _other_cells(view, start, end, prefix):
        return False
    normal_cell = _normal_cell(prefix)
    position, restarts = start, 0
    while suspect := _suspect_cell(max(bounds.max_column, 1), bounds.row_limit(), prefix).search(view, position, end):
        cell = normal_cell.match(view, suspect.start(), end)
        if cell is None:
            return False
        position = cell.end()
        if _is_empty(view, cell, end, prefix):
            continue
        row_limit = bounds.row_limit()
        bounds.add(int(cell.group(2)), _column_number(cell.group(1)))
        if bounds.row_limit() < row_limit:
            restarts += position - start > MB  # starting over near the start costs nothing
            if restarts > _FAST_RESTARTS:
                return False
            position = start
    return True


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number


# --- Exact path --------------------------------------------------------------------------

# quick-xml's local name is what follows the first `:` of a name.
_PREFIX = rb"(?:[^\s/>:]*+:)?"
_QUOTED_ATTRIBUTES = rb"""(?:[^>"']+|"[^"]*"|'[^']*')*"""
_TOKEN = re.compile(rb"<!--|<!\[CDATA\[|<\?|<!|<(/?)([^\s/>:]*+:)?(c|row)(?=[\s/>])(" + _QUOTED_ATTRIBUTES + rb")>")
_SKIP_TO = {b"<!--": b"-->", b"<![CDATA[": b"]]>", b"<?": b"?>"}


@lru_cache(maxsize=8)
def _plain_row(prefix: bytes) -> re.Pattern:
    """A whole row whose elements use `prefix` and whose cells have no `r` or a plain `r="B7"`
    first (and no other `r`), each holding `<v>`/`<f>` text or `<is><t>` text: one match and a
    few C-level calls per row instead of a Python step per cell."""
    p = re.escape(prefix)
    leaf = rb"<(?P<{0}>" + p + rb"[vft])(?:\s[^<>]*)?(?:/>|>[^<]*</(?P={0})\s*>)"
    value = (
        rb"(?:"
        + leaf.replace(b"{0}", b"leaf")
        + rb"|<"
        + p
        + rb"is>(?:"
        + leaf.replace(b"{0}", b"inner")
        + rb")*</"
        + p
        + rb"is\s*>)*"
    )
    cell = (
        rb"<" + p + rb'c(?=[\s/>])(?: r="[A-Z]{1,3}[1-9][0-9]{0,6}")?'
        rb"""(?:[^>"'r/]+|"[^"]*"|'[^']*')*\s*(?:/>|>""" + value + rb"</" + p + rb"c\s*>)"
    )
    return re.compile(
        rb"<"
        + p
        + rb"""row(?=[\s/>])(?P<attributes>(?:[^>"'/]+|"[^"]*"|'[^']*')*)>(?P<cells>(?:\s*"""
        + cell
        + rb")*)\s*</"
        + p
        + rb"row\s*>"
    )


_PLAIN_ROW_REFERENCE = re.compile(rb""" r="([1-9][0-9]{0,6})"(?:[^r"']+|"[^"]*"|'[^']*')*""")
_CELL_START = re.compile(rb"<" + _PREFIX + rb"c(?=[\s/>])")
_PLAIN_REFERENCE = re.compile(rb"<" + _PREFIX + rb'c r="([A-Z]{1,3})([0-9]+)"')
_CELL_END = re.compile(rb"</" + _PREFIX + rb"c\s*>")
_CONTENT_TAG = re.compile(rb"""<(/?)([^\s/>!?]+)(?:[^>"']|"[^"]*"|'[^']*')*?(/?)>|<[!?]""")
_R_ATTRIBUTE = re.compile(rb"""(?:^|[\s"'])r\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_REF_ATTRIBUTE = re.compile(rb"""(?:^|[\s"'])ref\s*=\s*(?:"([^"]*)"|'([^']*)')""")


def _attribute_values(attributes: bytes, pattern: re.Pattern = _R_ATTRIBUTE) -> list[bytes]:
    # calamine reads a key as everything up to `=` after whitespace (a quote may precede it in
    # malformed XML); every match counts, so a duplicate cannot hide the one calamine keeps.
    return [m.group(1) if m.group(1) is not None else m.group(2) for m in pattern.finditer(attributes)]


def _irregular(what: str) -> WorkbookError:
    return WorkbookError(f"The sheet could not be read: {what}.", "unreadable_workbook")


def _cell_content_end(view, position: int, end: int) -> int:
    """Where the content of a cell whose start tag ends at `position` ends, after checking that
    calamine would end the cell there too: the elements inside are balanced and hold no
    comment, CDATA, processing instruction, row or cell (calamine's value readers skip those,
    so a `</c>` among them would not end the cell)."""
    closing = _CELL_END.search(view, position, end)
    if closing is None:
        return end  # unterminated: calamine fails the read
    open_tags: list[bytes] = []
    for tag in _CONTENT_TAG.finditer(view, position, closing.start()):
        name = tag.group(2)
        if name is None or name.rsplit(b":", 1)[-1] in (b"c", b"row"):
            raise _irregular("a cell holds markup spreadsheets never write")
        if tag.group(1):
            if not open_tags or open_tags.pop() != name:
                raise _irregular("a cell's elements are not balanced")
        elif not tag.group(3):
            open_tags.append(name)
    if open_tags:
        raise _irregular("a cell's elements are not balanced")
    return closing.start()


class _Cursor:
    """calamine's implied position (0-based): the row of a cell without `r`, and its column.
    Rows only move forward here (a lower `r` keeps the current row): an upper bound, exact for
    sheets whose rows ascend, as every writer's do."""

    def __init__(self, bounds: _Bounds):
        self.bounds = bounds
        self.row = 0
        self.column = 0

    def start_row(self, attributes: bytes) -> None:
        for value in _attribute_values(attributes):
            self.row = max(self.row, _reference(value, needs_column=False)[0] - 1)

    def end_row(self) -> None:
        self.row, self.column = self.row + 1, 0

    def count(self, row: int, column: int, cells: int = 1) -> None:
        bounds = self.bounds
        bounds.add(row, column)
        bounds.cells += cells
        if bounds.cells > bounds.limits.max_cells:
            bounds.check_count("non-empty cells", bounds.cells)

    def plain_row(self, row: re.Match) -> None:
        """A whole row in the plain form: its widest cell is at most the widest reference plus
        the number of cells (a cell without `r` follows the one before it)."""
        attributes = row.group("attributes")
        if plain := _PLAIN_ROW_REFERENCE.fullmatch(attributes):
            self.row = max(self.row, int(plain.group(1)) - 1)
        else:
            self.start_row(attributes)
        cells = row.group("cells")
        total = len(_CELL_START.findall(cells)) if b":" in cells else cells.count(b"<c")
        if total:
            references = _PLAIN_REFERENCE.findall(cells) if b' r="' in cells else ()
            widest = max((_column_number(letters) for letters, _ in references), default=0)
            lowest = max((int(digits) for _, digits in references), default=0)
            if len(references) < total:
                widest, lowest = widest + total, max(lowest, self.row + 1)
            self.count(lowest, widest, total)
        self.end_row()


def _scan_exact(view, start: int, end: int, bounds: _Bounds) -> None:
    """Follows calamine's cell positions through the whole sheet: `<row r>` sets the row, a
    row's end moves to the next row and back to column A, a cell without `r` takes the next
    column. Comments, CDATA and processing instructions are skipped as calamine skips them."""
    cursor, position = _Cursor(bounds), start
    while (token := _TOKEN.search(view, position, end)) is not None:
        name = token.group(3)
        if name is None:
            position = _skip(view, token, end)
            continue
        if name == b"row" and not token.group(1):
            row = _plain_row(token.group(2) or b"").match(view, token.start(), end)
            if row:
                cursor.plain_row(row)
                position = row.end()
                continue
        position = token.end()
        attributes = token.group(4)
        closing, self_closing = token.group(1) == b"/", attributes.endswith(b"/")
        if name == b"row":
            if not closing:
                cursor.start_row(attributes)
            if closing or self_closing:
                cursor.end_row()
        elif not closing:
            position = _exact_cell(view, position, end, attributes, self_closing, cursor)


def _skip(view, token: re.Match, end: int) -> int:
    """Past a comment, CDATA section or processing instruction."""
    marker = token.group(0)
    if marker == b"<!":
        raise _irregular("it holds a document type declaration")
    stop = view.find(_SKIP_TO[marker], token.end(), end)
    return end if stop < 0 else stop + len(_SKIP_TO[marker])  # unterminated: calamine fails the read


def _exact_cell(view, position: int, end: int, attributes: bytes, self_closing: bool, cursor: _Cursor) -> int:
    references = _attribute_values(attributes)
    if references:
        cells = [_reference(value) for value in references]
        row, column = max(row for row, _ in cells), max(column for _, column in cells)
        cursor.column = column
    else:
        row, column = cursor.row + 1, cursor.column + 1
        cursor.column += 1
    if self_closing:
        return position
    content_end = _cell_content_end(view, position, end)
    if content_end > position:
        cursor.count(row, column)
    return content_end


# --- Entry point -------------------------------------------------------------------------


@contextmanager
def open_first_sheet(path: str, limits: SheetLimits, *, temp_dir: str | None = None) -> Iterator[FirstSheet]:
    """The first sheet of the workbook at `path`, read by calamine from the bounded copy (see
    the module docstring). Raises WorkbookError before calamine is involved when the workbook is
    over a limit; the copy (as large as the sheet uncompressed) is deleted on exit."""
    with tempfile.TemporaryDirectory(prefix="xlsx-", dir=temp_dir) as folder:
        copy = os.path.join(folder, "workbook.xlsx")
        prepare_workbook(path, copy, limits)
        sheet = FirstSheet(copy)
        try:
            yield sheet
        finally:
            sheet.close()
