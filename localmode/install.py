"""`python -m localmode.install REQUIREMENTS STAMP [STAMP ...]`: the Makefile's venv install.

Creates `.venv` if needed and installs REQUIREMENTS into it, then touches the STAMP files. Two
`make` runs started together (`make run` and `make test` in two terminals) both find the venv out
of date: the second waits on a lock and, finding the stamps fresh, does nothing — pip never runs
twice at once on one environment. Stdlib only: it runs before the venv exists.
"""

import fcntl
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"


def _fresh(stamp: Path, requirements: list[Path]) -> bool:
    return stamp.exists() and all(stamp.stat().st_mtime >= path.stat().st_mtime for path in requirements)


def main(argv: list[str]) -> int:
    requirements, stamps = ROOT / argv[0], [ROOT / name for name in argv[1:]]
    # A requirements file can include others (-r requirements.txt): they count too.
    inputs = [
        requirements,
        *(ROOT / line.split()[1] for line in requirements.read_text().splitlines() if line.startswith("-r ")),
    ]
    VENV.mkdir(exist_ok=True)
    with open(VENV / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if all(_fresh(stamp, inputs) for stamp in stamps):
            return 0
        python = VENV / "bin" / "python"
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        subprocess.run([*pip, "--upgrade", "pip"], check=True)
        subprocess.run([*pip, "-r", str(requirements)], check=True)
        for stamp in stamps:
            stamp.touch()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
