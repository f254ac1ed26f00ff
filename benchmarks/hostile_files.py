"""Hostile files too big for the unit suite: the largest sheet Excel can hold, a sheet over the
row limit, a sheet padded up to the uncompressed-size cap, a 2 GB zip bomb, and poison
workbooks — a few KB whose cell positions or declarations asked calamine for a huge grid or
huge reservations (refused by ingestion/xlsx_prescan.py before it runs), a sheet of 17 million
cells at one position. Each case runs the real code (upload check `inspect_xlsx`, then
`import_job_split`, which bounds and reads the whole first sheet) in a child process and reports
wall time and that process's peak RSS (VmHWM).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/techsupport_reliab \\
        .venv/bin/python benchmarks/hostile_files.py [--workdir var/hostile]

Chunk tasks are counted, not run: storing 1M documents is measured by benchmarks/ingestion.py
with real workers. Files are generated once into --workdir (about 40 MB + 3 MB + 2 MB).
"""

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

EXCEL_MAX_ROWS = 1_048_576  # including the header row
HEADER = ["ticket_id", "client_id", "tipo_cliente", "fecha_creacion", "fecha_resolucion"]
HEADER += ["agente_id", "nivel_escalamiento", "estado"]
MB = 1024 * 1024


def _vm_hwm_mb() -> float:
    with open(f"/proc/{os.getpid()}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


# --- Generators (parent process) ---------------------------------------------------------


def make_max_rows(path: Path) -> None:
    from datetime import datetime

    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("tickets")
    sheet.append(HEADER)
    created, resolved = datetime(2025, 1, 1, 8, 30), datetime(2025, 1, 1, 10, 0)
    for n in range(EXCEL_MAX_ROWS - 1):
        ids = (str(uuid.UUID(int=n + 1)), str(uuid.UUID(int=10_000 + n % 97)), str(uuid.UUID(int=20_000 + n % 50)))
        sheet.append([ids[0], ids[1], "VIP" if n % 3 == 0 else "NORMAL", created, resolved, ids[2], n % 3, "RESOLVED"])
    workbook.save(path)


def _minimal_workbook(path: Path, sheet_writer, extra=None) -> None:
    """A hand-made xlsx whose sheet XML is streamed by `sheet_writer(file)` (never in memory)."""
    from tests.security.hostile_workbooks import minimal_xlsx

    template = zipfile.ZipFile(__import__("io").BytesIO(minimal_xlsx("<worksheet/>")))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        for item in template.infolist():
            if item.filename != "xl/worksheets/sheet1.xml":
                archive.writestr(item.filename, template.read(item.filename))
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet_writer(sheet)
        if extra:
            extra(archive)


def make_padded(path: Path, padding_mb: int) -> None:
    """A valid one-row sheet followed by `padding_mb` MB of whitespace: under the cap, but
    the reader has to inflate all of it."""

    def writer(sheet):
        sheet.write(b'<?xml version="1.0" encoding="UTF-8"?>')
        sheet.write(b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
        cells = "".join(f'<c r="{chr(65 + i)}1" t="inlineStr"><is><t>{h}</t></is></c>' for i, h in enumerate(HEADER))
        sheet.write(f'<row r="1">{cells}</row></sheetData>'.encode())
        block = b" " * MB
        for _ in range(padding_mb):
            sheet.write(block)
        sheet.write(b"</worksheet>")

    _minimal_workbook(path, writer)


def _header_row() -> bytes:
    cells = "".join(f'<c r="{chr(65 + i)}1" t="inlineStr"><is><t>{h}</t></is></c>' for i, h in enumerate(HEADER))
    return f'<row r="1">{cells}</row>'.encode()


def make_poison(path: Path, rows: bytes, repeat: int = 1) -> None:
    """The header, then `rows` (raw sheet XML) `repeat` times."""

    def writer(sheet):
        sheet.write(b'<?xml version="1.0" encoding="UTF-8"?>')
        sheet.write(b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
        sheet.write(_header_row())
        block = rows * max(1, min(repeat, 65536))
        for _ in range(repeat // 65536 or 1):
            sheet.write(block)
        sheet.write(b"</sheetData></worksheet>")

    _minimal_workbook(path, writer)


def make_unique_count(path: Path) -> None:
    from tests.security.hostile_workbooks import minimal_xlsx, shared_strings_xml

    sheet = '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData/></worksheet>'
    path.write_bytes(minimal_xlsx(sheet, shared_strings=shared_strings_xml(["a"], unique_count="1000000000000")))


def make_bomb(path: Path, gigabytes: int) -> None:
    def extra(archive):
        with archive.open("xl/media/bomb.bin", "w", force_zip64=True) as member:
            block = b"\0" * (64 * MB)
            for _ in range(gigabytes * 16):
                member.write(block)

    _minimal_workbook(path, lambda sheet: sheet.write(b"<worksheet/>"), extra)


# --- One case (child process) ------------------------------------------------------------


def run_case(case: str, path: Path, max_rows: int | None) -> dict:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.files.uploadedfile import SimpleUploadedFile

    from ingestion import services, tasks
    from ingestion.models import ImportJob

    if max_rows is not None:
        settings.INGESTION_MAX_ROWS = max_rows
    settings.MEDIA_ROOT = Path(os.environ["HOSTILE_MEDIA"])
    chunks = {"count": 0, "rows": 0}

    def count_chunk(job_id, chunk_no, first_row_no, rows, duplicates=None):
        chunks["count"] += 1
        chunks["rows"] += sum(1 for row in rows if row is not None)

    tasks.import_chunk_task.delay = count_chunk
    started = time.perf_counter()
    with open(path, "rb") as source:
        upload = SimpleUploadedFile(path.name, source.read())
    try:
        job = services.import_job_create(file=upload, filename=path.name)
    except Exception as exc:  # the upload check refusing is an outcome of this benchmark
        return {
            "case": case,
            "outcome": f"refused at upload: {getattr(exc, 'status', '?')} {getattr(exc, 'code', type(exc).__name__)}",
            "seconds": round(time.perf_counter() - started, 2),
            "peak_rss_mb": round(_vm_hwm_mb()),
        }
    services.import_job_split(job_id=job.pk)
    job = ImportJob.objects.get(pk=job.pk)
    return {
        "case": case,
        "outcome": f"{job.status} {job.error_code} total={job.total} chunks={job.chunk_count} "
        f"{job.error_message[:110]}".strip(),
        "chunks_enqueued": chunks["count"],
        "rows_enqueued": chunks["rows"],
        "seconds": round(time.perf_counter() - started, 2),
        "peak_rss_mb": round(_vm_hwm_mb()),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", default=str(ROOT / "var" / "hostile"))
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    parser.add_argument("--max-rows", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        print(json.dumps(run_case(args.case, Path(args.file), args.max_rows)))
        return 0
    if not os.environ.get("DATABASE_URL"):
        print("Set DATABASE_URL to a migrated PostgreSQL database.")
        return 2

    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    files = {
        "max_rows.xlsx": make_max_rows,
        "padded_1000mb.xlsx": lambda p: make_padded(p, 1000),
        "bomb_2gb.xlsx": lambda p: make_bomb(p, 2),
        "poison_xfd1048576.xlsx": lambda p: make_poison(p, b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'),
        "poison_xfd4000.xlsx": lambda p: make_poison(p, b'<row r="4000"><c r="XFD4000"><v>1</v></c></row>'),
        "poison_16384_refless.xlsx": lambda p: make_poison(p, b"<row>" + b"<c><v>1</v></c>" * 16384 + b"</row>"),
        "poison_row_4e9.xlsx": lambda p: make_poison(p, b'<row r="4000000000"><c><v>1</v></c></row>'),
        "poison_unique_count.xlsx": make_unique_count,
        "poison_17m_cells_at_a2.xlsx": lambda p: make_poison(p, b'<c r="A2"><v>1</v></c>', repeat=17 * 1024 * 1024),
    }
    for name, make in files.items():
        if not (workdir / name).exists():
            started = time.perf_counter()
            make(workdir / name)
            size = (workdir / name).stat().st_size / MB
            print(f"generated {name}: {size:.1f} MB in {time.perf_counter() - started:.0f} s")

    cases = [
        ("Excel's maximum sheet: 1,048,575 rows + header", "max_rows.xlsx", None),
        ("the same file over a 1,000,000-row limit", "max_rows.xlsx", 1_000_000),
        ("sheet padded to 1000 MB uncompressed (cap 1024 MB)", "padded_1000mb.xlsx", None),
        ("zip bomb: 2 GB of zeros in 2 MB", "bomb_2gb.xlsx", None),
        ("poison: one cell at XFD1048576 (a 512 GiB grid)", "poison_xfd1048576.xlsx", None),
        ("poison: one cell at XFD4000 (a 2 GB grid)", "poison_xfd4000.xlsx", None),
        ("poison: a row of 16,384 cells without r", "poison_16384_refless.xlsx", None),
        ('poison: <row r="4000000000"> and a cell without r', "poison_row_4e9.xlsx", None),
        ("poison: shared strings declaring uniqueCount=10^12", "poison_unique_count.xlsx", None),
        ("17.8 million non-empty cells all at A2 (374 MB of XML)", "poison_17m_cells_at_a2.xlsx", None),
    ]
    from benchmarks.docstore import ensure_mongo_url

    ensure_mongo_url("techsupport_hostile")  # every process with DATABASE_URL needs the document server
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "0",
        "SECRET_KEY": os.environ.get("SECRET_KEY", "hostile-files-benchmark-secret-key-long-enough"),
        "CELERY_TASK_ALWAYS_EAGER": "1",
        "LOG_LEVEL": "WARNING",
        "HOSTILE_MEDIA": str(workdir / "media"),
    }
    env.pop("REDIS_URL", None)
    print("\n| case | file | outcome | time s | peak RSS MB |")
    print("|---|---|---|---|---|")
    for label, name, max_rows in cases:
        command = [sys.executable, __file__, "--case", label, "--file", str(workdir / name)]
        if max_rows:
            command += ["--max-rows", str(max_rows)]
        result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1800)
        if result.returncode != 0:
            print(f"| {label} | {name} | crashed: {result.stderr.strip().splitlines()[-1:]} | | |")
            continue
        facts = json.loads(result.stdout.strip().splitlines()[-1])
        size = (workdir / name).stat().st_size / MB
        print(f"| {label} | {size:.1f} MB | {facts['outcome']} | {facts['seconds']} | {facts['peak_rss_mb']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
