"""Runs the fault drills (tests/faults, marker `faults`) several times and tallies the outcomes —
the figures of docs/reliability.md. Each round kills the worker after a different number of
counted chunks (1..7 of 8), so the SIGKILL lands at different points of the import.

    DATABASE_URL=postgres://... REDIS_URL=redis://127.0.0.1:6379/N \
        .venv/bin/python benchmarks/faults.py --rounds 5

Needs the real PostgreSQL and Redis (the drills are skipped without them). Bounded: each round
is one pytest run of a few tens of seconds."""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL") or not os.environ.get("REDIS_URL"):
        print("Set DATABASE_URL (PostgreSQL) and REDIS_URL: the drills need the real servers.")
        return 2

    outcomes: Counter = Counter()
    record = Path(tempfile.mkdtemp()) / "kills.jsonl"
    started = time.monotonic()
    for round_no in range(args.rounds):
        env = {
            **os.environ,
            "REQUIRE_SERVICES": "1",
            "FAULTS_RECORD": str(record),
            "FAULTS_KILL_AFTER_CHUNKS": str(1 + round_no % 7),
        }
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider", "-m", "faults", "tests/faults"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        for status, test in re.findall(r"^(PASSED|FAILED|ERROR|SKIPPED)\S* (\S+)", result.stdout, re.MULTILINE):
            outcomes[(test.split("::")[-1], status)] += 1
        print(f"round {round_no + 1}/{args.rounds}: exit {result.returncode}", flush=True)

    print(f"\n{args.rounds} rounds in {time.monotonic() - started:.0f} s\n")
    print("| drill | passed | failed |")
    print("|---|---|---|")
    for test in sorted({test for test, _ in outcomes}):
        failed = outcomes[(test, "FAILED")] + outcomes[(test, "ERROR")]
        print(f"| {test} | {outcomes[(test, 'PASSED')]} | {failed} |")
    if record.exists():
        kills = [json.loads(line) for line in record.read_text().splitlines()]
        print("\nworker SIGKILL rounds (rows, chunks counted at the kill, recovery s, final counts):")
        for kill in kills:
            print(
                f"  {kill['rows']} rows: killed after {kill['counted_at_kill']}/{kill['chunks']} chunks, "
                f"recovered in {kill['recovery_s']} s -> {kill['status']} {kill['processed']}+{kill['failed']}"
            )
    return 0 if all(status == "PASSED" for (_, status) in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
