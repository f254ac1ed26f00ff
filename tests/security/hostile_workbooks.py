"""Builders for hostile upload files, made in memory at test time (nothing big is stored in the
repository). `minimal_xlsx` writes the OOXML parts by hand, so a test controls every byte that
a spreadsheet program would normally sanitise: entities, escapes, content types, zip headers."""

import io
import struct
import zipfile
from xml.sax.saxutils import escape

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
XLSM_CONTENT_TYPE = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
OLE_SIGNATURE = bytes.fromhex("D0CF11E0A1B11AE1")  # Compound File Binary: encrypted/legacy .xls

_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="tickets" sheetId="1" r:id="rId1"/>{more}</sheets></workbook>'
)


def _workbook_rels(shared_strings: bool) -> str:
    extra = (
        '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        'sharedStrings" Target="sharedStrings.xml"/>'
        if shared_strings
        else ""
    )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        f'worksheet" Target="worksheets/sheet1.xml"/>{extra}</Relationships>'
    )


def _content_types(main: str, shared_strings: bool, macro: bool) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        + ('<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/>' if macro else "")
        + f'<Override PartName="/xl/workbook.xml" ContentType="{main}"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        + (
            '<Override PartName="/xl/sharedStrings.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
            if shared_strings
            else ""
        )
        + "</Types>"
    )


def _column(index: int) -> str:
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(65 + rest) + name
    return name


def cell_xml(ref: str, value) -> str:
    """An inline-string, number or raw-XML (`("raw", xml)`) cell."""
    if isinstance(value, tuple) and value[0] == "raw":
        return value[1]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f'<c r="{ref}"><v>{value}</v></c>'
    return f'<c r="{ref}" t="inlineStr"><is><t>{escape(str(value))}</t></is></c>'


def sheet_xml(rows: list[list], *, doctype: str = "", extra: str = "") -> str:
    body = "".join(
        f'<row r="{r}">'
        + "".join(cell_xml(f"{_column(c)}{r}", v) for c, v in enumerate(row) if v is not None)
        + "</row>"
        for r, row in enumerate(rows, start=1)
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>{doctype}'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f"<sheetData>{body}</sheetData>{extra}</worksheet>"
    )


def minimal_xlsx(
    sheet: str,
    *,
    shared_strings: str | None = None,
    macro: bool = False,
    extra_members: dict[str, bytes] | None = None,
    more_sheets: int = 0,
) -> bytes:
    buffer = io.BytesIO()
    main = XLSM_CONTENT_TYPE if macro else XLSX_CONTENT_TYPE
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", _content_types(main, shared_strings is not None, macro))
        archive.writestr("_rels/.rels", _RELS)
        more = "".join(f'<sheet name="s{n}" sheetId="{n}" r:id="rId1"/>' for n in range(2, more_sheets + 2))
        archive.writestr("xl/workbook.xml", _WORKBOOK.format(more=more))
        archive.writestr("xl/_rels/workbook.xml.rels", _workbook_rels(shared_strings is not None))
        archive.writestr("xl/worksheets/sheet1.xml", sheet)
        if shared_strings is not None:
            archive.writestr("xl/sharedStrings.xml", shared_strings)
        if macro:
            archive.writestr("xl/vbaProject.bin", OLE_SIGNATURE + b"\0" * 512)
        for name, data in (extra_members or {}).items():
            archive.writestr(name, data)
    return buffer.getvalue()


def billion_laughs_shared_strings(levels: int = 10) -> str:
    """The classic entity bomb: 10 levels of 10 references expand to 10**levels 'lol's."""
    entities = '<!ENTITY lol0 "lol">' + "".join(f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(1, levels))
    return (
        f'<?xml version="1.0"?><!DOCTYPE sst [{entities}]>'
        '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1">'
        f"<si><t>&lol{levels - 1};</t></si></sst>"
    )


def external_entity_doctype(target: str = "file:///etc/passwd") -> str:
    return f'<!DOCTYPE worksheet [<!ENTITY xxe SYSTEM "{target}">]>'


def with_declared_size(data: bytes, member: str, declared: int) -> bytes:
    """The same zip with `member`'s uncompressed size *lied about* in both the local header and
    the central directory (a zip bomb that hides from a check of the declared sizes)."""
    patched = bytearray(data)
    name = member.encode()
    local = patched.find(b"PK\x03\x04" + b"\0" * 0, 0)
    while local != -1:
        name_len = struct.unpack_from("<H", patched, local + 26)[0]
        if patched[local + 30 : local + 30 + name_len] == name:
            struct.pack_into("<I", patched, local + 22, declared)
        local = patched.find(b"PK\x03\x04", local + 4)
    central = patched.find(b"PK\x01\x02")
    while central != -1:
        name_len = struct.unpack_from("<H", patched, central + 28)[0]
        if patched[central + 46 : central + 46 + name_len] == name:
            struct.pack_into("<I", patched, central + 24, declared)
        central = patched.find(b"PK\x01\x02", central + 4)
    return bytes(patched)


def header_and_rows(rows: list[list], header: list | None = None) -> list[list]:
    from tests.ingestion.workbooks import HEADER

    return [header if header is not None else HEADER, *rows]


# --- Poison sheets: tiny files whose cell positions ask the reader for a huge grid -----------

SPREADSHEET_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def header_row_xml() -> str:
    from tests.ingestion.workbooks import HEADER

    return '<row r="1">' + "".join(cell_xml(f"{_column(c)}1", name) for c, name in enumerate(HEADER)) + "</row>"


def poison_sheet(rows: str, *, preamble: str = "", after: str = "", root: str = "worksheet") -> str:
    """A sheet with the contract's header in row 1, then `rows` (raw XML) in `<sheetData>`."""
    return (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><{root} xmlns="{SPREADSHEET_NS}">'
        f"{preamble}<sheetData>{header_row_xml()}{rows}</sheetData>{after}</{root}>"
    )


def shared_strings_xml(strings: list[str], *, unique_count: str | None = None) -> str:
    count = str(len(strings)) if unique_count is None else unique_count
    items = "".join(f"<si><t>{escape(text)}</t></si>" for text in strings)
    return f'<sst xmlns="{SPREADSHEET_NS}" count="{len(strings)}" uniqueCount="{count}">{items}</sst>'


def many_members_xlsx(members: int) -> bytes:
    """A valid workbook padded with `members` tiny extra parts."""
    return minimal_xlsx(sheet_xml([["x"]]), extra_members={f"customXml/item{n}.xml": b"<a/>" for n in range(members)})
