"""`var/local.env`: the settings of local mode, in one file every process of the checkout reads.

`make run` writes it on its first start; config/settings.py loads it (variables already in the
environment win), so the server, its worker, `manage.py <command>` and `make worker`/`beat`/
`flower` in another terminal all see the same database, document server and broker with nothing
exported. `.env` is docker compose's file: local mode never reads it, so copying `.env.example`
for the full stack cannot change the local admin's password or the log format.
"""

import secrets
import socket
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PATH = ROOT / "var" / "local.env"
DOCSTORE_DATA = ROOT / "var" / "docstore"
PREFERRED_DOCSTORE_PORT = 27117

_HEADER = """\
# Local mode of this checkout, written by `make run` on its first start; edit freely.
# Every process started from this checkout reads it: the server (`make run`), `manage.py ...`,
# `make worker`, `make beat`, `make flower`. A variable set in your environment wins over this file.
# `.env` is docker compose's file and is NOT read by local mode.
# Production never uses this file: it sets DEBUG=0, SECRET_KEY and the service URLs itself.
"""


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _docstore_port() -> int:
    if _port_free(PREFERRED_DOCSTORE_PORT):
        return PREFERRED_DOCSTORE_PORT
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def read(path: Path = PATH) -> dict[str, str]:
    """KEY=VALUE lines; blank lines and `#` comments ignored."""
    values = {}
    if path.exists():
        for line in path.read_text().splitlines():
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                key, _, value = line.partition("=")
                values[key.strip()] = value.strip().strip("'\"")
    return values


# Folders local mode's settings point into (SQLite's file, static files whitenoise looks for):
# made here, once, rather than by the settings module on every import.
LOCAL_FOLDERS = ("var", "var/static")


def ensure(path: Path = PATH) -> tuple[dict[str, str], bool]:
    """The local settings, writing the file first if it does not exist; (values, created)."""
    for folder in LOCAL_FOLDERS:
        (ROOT / folder).mkdir(parents=True, exist_ok=True)
    if path.exists():
        return read(path), False
    path.parent.mkdir(parents=True, exist_ok=True)
    values = {
        "DEBUG": "1",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "MONGO_URL": f"mongodb://127.0.0.1:{_docstore_port()}/techsupport",
        "DOCSTORE_DATA": str(DOCSTORE_DATA.relative_to(ROOT)),
    }
    body = "".join(f"{key}={value}\n" for key, value in values.items())
    path.write_text(_HEADER + body)
    path.chmod(0o600)  # it holds the signing key
    return values, True
