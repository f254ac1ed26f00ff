"""What bounding a workbook before calamine reads it costs (ingestion/xlsx_prescan.py).

For each file: calamine reading the upload as it is (what the split did before), then the
bounded path — the stored copy plus its scan (`prepare_workbook`) and calamine reading that copy.
Each step runs --repeat times, alternating, and the medians are printed. The split is the serial
stage of an import, so this is the time an import gains or loses.

    .venv/bin/python manage.py generate_sample_excel --rows 100000 --output var/bench/s100k.xlsx --seed 1
    .venv/bin/python benchmarks/xlsx_prescan.py var/bench/s100k.xlsx [--repeat 5]
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _calamine(path: str) -> float:
    from python_calamine import CalamineWorkbook

    started = time.perf_counter()
    workbook = CalamineWorkbook.from_path(path)
    workbook.get_sheet_by_index(0)
    elapsed = time.perf_counter() - started
    workbook.close()
    return elapsed


def measure(path: str, repeat: int) -> dict:
    from ingestion.xlsx_prescan import SheetLimits, prepare_workbook

    limits = SheetLimits(max_rows=1_048_576, max_columns=64, max_cells=16_777_216)
    times: dict[str, list[float]] = {"calamine_original": [], "prepare": [], "calamine_copy": []}
    with tempfile.TemporaryDirectory() as folder:
        copy = os.path.join(folder, "copy.xlsx")
        for _ in range(repeat):
            times["calamine_original"].append(_calamine(path))
            started = time.perf_counter()
            prepare_workbook(path, copy, limits)
            times["prepare"].append(time.perf_counter() - started)
            times["calamine_copy"].append(_calamine(copy))
    medians = {name: statistics.median(values) for name, values in times.items()}
    medians["bounded_total"] = medians["prepare"] + medians["calamine_copy"]
    return medians


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print("| file | calamine on the upload | prepare (copy + scan) | calamine on the copy | bounded total | change |")
    print("|---|---|---|---|---|---|")
    for path in args.files:
        m = measure(path, args.repeat)
        change = 100 * (m["bounded_total"] / m["calamine_original"] - 1)
        print(
            f"| {Path(path).name} | {m['calamine_original']:.2f} s | {m['prepare']:.2f} s "
            f"({100 * m['prepare'] / m['calamine_original']:.0f} %) | {m['calamine_copy']:.2f} s | "
            f"{m['bounded_total']:.2f} s | {change:+.0f} % |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
