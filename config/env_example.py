"""`.env.example`, generated: every environment variable the product reads, with its default and
what it does.

    python -m config.env_example            # rewrite .env.example
    python -m config.env_example --check    # exit 1 if .env.example is out of date (make lint)

The variables are found in the code itself (`env(...)`/`env.int(...)`/`os.environ.get(...)` in the
settings and the product's modules, `${NAME}` in docker-compose.yml and docker/entrypoint.sh); this
module adds the words and groups them. tests/config/test_env_example.py fails when a variable is
read but has no entry here, or when .env.example is stale.
"""

import ast
import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / ".env.example"
# Where the product reads its environment (local mode's own variables live in var/local.env and
# localmode/; the test settings are not the product's).
PYTHON_SOURCES = ["config/settings.py", "config/celery.py", "gunicorn.conf.py", "techsupport", "accounts"]
PYTHON_SOURCES += ["tickets", "ingestion", "reports"]
TEXT_SOURCES = ["docker-compose.yml", "docker/entrypoint.sh"]
_ENV_TYPES = {"bool", "int", "float", "list", "str", "json"}
_SHELL_VARIABLE = re.compile(r"(?<!\$)\$\{?([A-Z][A-Z0-9_]*)(?::?[-?]([^}]*))?")


@dataclass(frozen=True)
class Variable:
    name: str
    comment: str
    # Shown when the code's default is computed (not a literal) or differs under compose.
    default: str | None = None
    # Written uncommented with this placeholder: compose refuses to start without it.
    required: str | None = None


SECTIONS: list[tuple[str, list[Variable]]] = [
    (
        "Secrets: REQUIRED by docker compose (it refuses to start without them)",
        [
            Variable("SECRET_KEY", "Django and JWT signing key: 50+ random characters.", required="change-me"),
            Variable(
                "POSTGRES_PASSWORD",
                "PostgreSQL password (compose passes it as DATABASE_PASSWORD).",
                required="change-me",
            ),
            Variable(
                "DEFAULT_ADMIN_PASSWORD",
                "Password of the first admin (manage.py ensure_admin).",
                required="change-me-too",
            ),
            Variable("FLOWER_BASIC_AUTH", "Flower's basic auth, user:password.", required="flower:change-me"),
        ],
    ),
    (
        "Stores (compose sets the URLs itself; set them to use real services with `make run`)",
        [
            Variable(
                "DATABASE_URL",
                "PostgreSQL URL; percent-encode reserved characters of a password in it.",
                "SQLite var/db.sqlite3",
            ),
            Variable("DATABASE_PASSWORD", "The database password, verbatim (any character); wins over the URL's."),
            Variable(
                "REDIS_URL",
                "Celery broker (db N); the cache uses db N+1. Required outside local mode.",
                "none (local mode: the local file broker)",
            ),
            Variable("CACHE_URL", "Cache and rate-limit counters.", "REDIS_URL's next database"),
            Variable("MONGO_URL", "MongoDB holding ticket_logs. Required with DATABASE_URL or REDIS_URL."),
            Variable(
                "MONGO_DB_NAME", "Database name, when not in MONGO_URL's path.", "from MONGO_URL, else techsupport"
            ),
            Variable("MONGO_TIMEOUT_MS", "Server selection, connect and socket timeouts."),
            Variable(
                "DB_STATEMENT_TIMEOUT_MS", "PostgreSQL statement_timeout: a slow query is a 503, never a hung worker."
            ),
            Variable("DB_CONNECT_TIMEOUT_S", "PostgreSQL connect timeout."),
            Variable("DB_CONN_MAX_AGE", "Seconds a PostgreSQL connection is reused."),
            Variable("REDIS_SOCKET_TIMEOUT_S", "Redis connect and socket timeouts."),
        ],
    ),
    (
        "HTTP",
        [
            Variable(
                "DEBUG",
                "Local mode: default admin password, console email, the local file broker. Never in production.",
            ),
            Variable("ALLOWED_HOSTS", "Host names the server answers to (compose always adds `api`, for Prometheus)."),
            Variable("CSRF_TRUSTED_ORIGINS", "Origins allowed to post admin forms, e.g. https://desk.example.com."),
            Variable("CORS_ALLOWED_ORIGINS", "Browser front ends allowed to call /api."),
            Variable("SECURE_SSL_REDIRECT", "Redirect http to https (behind a proxy that sets X-Forwarded-Proto)."),
            Variable("SECURE_HSTS_SECONDS", "HSTS max-age.", "31536000, 0 with DEBUG"),
            Variable("ADMIN_URL", "Path of the back-office."),
            Variable("API_PORT", "Host port of the api container."),
            Variable("GUNICORN_BIND", "Address gunicorn listens on."),
            Variable("GUNICORN_WORKERS", "gunicorn worker processes."),
            Variable("GUNICORN_THREADS", "Threads per gunicorn worker."),
            Variable("GUNICORN_TIMEOUT", "Seconds before gunicorn kills a stuck worker."),
            Variable("DATA_UPLOAD_MAX_MEMORY_SIZE", "Largest non-file request body (JSON), bytes."),
            Variable("STATIC_ROOT", "collectstatic's folder.", "var/static; the image sets /app/var/static"),
            Variable(
                "MEDIA_ROOT",
                "Uploaded workbooks.",
                "var/media; the image sets /app/var/media, a volume shared by api and worker",
            ),
        ],
    ),
    (
        "Auth and rate limits",
        [
            Variable("DEFAULT_ADMIN_EMAIL", "Email of the first admin."),
            Variable(
                "SEED_DEMO_PASSWORD",
                "Password of the demo users (manage.py seed_demo) when DEBUG is off.",
                "Demo-Pass-2024 with DEBUG, else required",
            ),
            Variable("JWT_ACCESS_MINUTES", "Access token lifetime."),
            Variable("JWT_REFRESH_DAYS", "Refresh token lifetime."),
            Variable("JWT_SIGNING_KEY", "JWT signing key.", "SECRET_KEY"),
            Variable("LOGIN_RATE_LIMIT_EMAIL", "Logins per email."),
            Variable("LOGIN_RATE_LIMIT_IP", "Logins per client IP."),
            Variable("API_RATE_LIMIT", "Requests per client IP on every other /api route."),
            Variable("REFRESH_RATE_LIMIT_IP", "Token refreshes per client IP."),
            Variable("REFRESH_RATE_LIMIT_USER", "Token refreshes per user."),
            Variable(
                "AUTH_MAX_BODY_BYTES", "Largest body of login, refresh, logout, register and the admin login page."
            ),
            Variable("RATELIMIT_ENABLE", "Rate limits on (0 only for load tests)."),
            Variable(
                "RATELIMIT_IP_META_KEY", "Behind a reverse proxy, the header with the client IP, e.g. HTTP_X_REAL_IP."
            ),
        ],
    ),
    (
        "Workers (Celery)",
        [
            Variable("CELERY_QUEUES", "Queues the worker container consumes, comma-separated (empty: all of them)."),
            Variable("CELERY_CONCURRENCY", "Worker pool processes."),
            Variable(
                "CELERY_METRICS_PORT",
                "Port of the worker's Prometheus exporter (compose sets 9808).",
                "none (no exporter)",
            ),
            Variable(
                "PROMETHEUS_MULTIPROC_DIR",
                "Folder where each process writes its metric samples (the image sets it).",
                "none (one process)",
            ),
            Variable("CELERY_VISIBILITY_TIMEOUT_S", "Seconds before an unacknowledged task is redelivered."),
            Variable("CELERY_UNACKED_RESTORE_THROTTLE", "Multiplier of the scan for overdue unacknowledged tasks."),
            Variable(
                "CELERY_DB_REUSE_MAX", "Tasks a worker runs on one PostgreSQL session (0: reconnect around each)."
            ),
            Variable("CELERY_TASK_ALWAYS_EAGER", "Run tasks in the calling process (tests only)."),
            Variable("FLOWER_PORT", "Host port of Flower."),
        ],
    ),
    (
        "SLA",
        [
            Variable("SLA_SWEEP_BATCH_SIZE", "Tickets per sweep transaction."),
            Variable("SLA_SWEEP_WORKERS", "Batch loops of the periodic sweep at once, each on its own connection."),
            Variable("TICKET_LOCK_TIMEOUT_MS", "How long a ticket change waits for a concurrent one before 409."),
            Variable(
                "AUTO_ASSIGN_MAX_OPEN_PER_AGENT",
                "Auto-assignment (tiers that opt in) passes by an agent holding this many open tickets.",
            ),
            Variable("SLA_WEBHOOK_URL", "JSON POST of every SLA notification (empty: none)."),
            Variable("SLA_WEBHOOK_TIMEOUT_S", "Webhook timeout."),
        ],
    ),
    (
        "Ingestion",
        [
            Variable("INGESTION_MAX_UPLOAD_MB", "Largest upload (413 above)."),
            Variable("INGESTION_MAX_UNCOMPRESSED_MB", "Largest workbook once unzipped (413 above)."),
            Variable("INGESTION_MAX_ROWS", "Most data rows per sheet."),
            Variable("INGESTION_MAX_COLUMNS", "Widest sheet read, in columns (the format has 8)."),
            Variable("INGESTION_MAX_CELLS", "Largest sheet grid read, rows x columns (the reader's memory)."),
            Variable(
                "INGESTION_MAX_WORKER_CRASHES",
                "Deaths of a worker a split or chunk message may cause before it is failed / dead-lettered.",
            ),
            Variable("INGESTION_CHUNK_SIZE", "Rows per worker task."),
        ],
    ),
    (
        "Email (compose: the Mailpit service, UI on http://localhost:8025)",
        [
            Variable("EMAIL_BACKEND", "Django email backend.", "files in EMAIL_FILE_PATH with DEBUG, else SMTP"),
            Variable("EMAIL_FILE_PATH", "Where the file email backend writes (local mode).", "var/mail"),
            Variable("EMAIL_HOST", "SMTP server (compose: the mailpit service; elsewhere localhost)."),
            Variable("EMAIL_PORT", "SMTP port (compose: mailpit's 1025; elsewhere 25)."),
            Variable("EMAIL_HOST_USER", "SMTP user."),
            Variable("EMAIL_HOST_PASSWORD", "SMTP password."),
            Variable("EMAIL_USE_TLS", "STARTTLS."),
            Variable("DEFAULT_FROM_EMAIL", "Sender of the SLA emails."),
            Variable("MAILPIT_UI_PORT", "Host port (loopback only) of Mailpit's web UI."),
        ],
    ),
    (
        "Logging",
        [
            Variable("LOG_LEVEL", "Root log level."),
            Variable("LOG_FORMAT", "json (one object per line) or console.", "json, console with DEBUG"),
        ],
    ),
    (
        "Local mode only (`make run`; not used by compose)",
        [
            Variable(
                "LOCAL_ENV_FILE",
                "Local settings file read by every process of the checkout; empty turns it off.",
                "var/local.env",
            ),
            Variable("LOCAL_BROKER_DIR", "Queue files of the local file broker.", "var/broker"),
        ],
    ),
]

HEADER = """\
# TechSupport Pro: every environment variable the product reads, with its default.
# GENERATED by `python -m config.env_example` from the code and config/env_example.py: edit those,
# not this file (`make lint` and tests/config/test_env_example.py fail when it is stale).
#
# This is docker compose's file: `cp .env.example .env`, set the four secrets, then
# `docker compose up --build`. Compose reads .env for its ${...} and hands it to the app
# containers. `make run` (local mode) never reads .env: its settings are in var/local.env.
# A line `# NAME=value` shows the default: uncomment it to change the value. Compose interpolates
# `$` in values: write `$$`, or single-quote the value.
"""


_OPERATORS = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b}


def _value(node: ast.expr):
    """A literal, or arithmetic on literals (`2 * 1024 * 1024`); ValueError for anything else."""
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        return _OPERATORS[type(node.op)](_value(node.left), _value(node.right))
    return ast.literal_eval(node)


def _literal(node: ast.expr | None) -> str | None:
    """The env-file spelling of a literal default, or None when the default is computed."""
    if node is None:
        return None
    try:
        value = _value(node)
    except ValueError:
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, list | tuple):
        return ",".join(str(item) for item in value)
    return "" if value is None else str(value)


def _read_call(node: ast.Call) -> tuple[str, ast.expr | None] | None:
    """(name, default node) when `node` reads an environment variable."""
    func = node.func
    reads = (
        (isinstance(func, ast.Name) and func.id == "env")
        or (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and func.value.id == "env"
            and func.attr in _ENV_TYPES
        )
        or (
            isinstance(func, ast.Attribute)
            and func.attr in ("get", "getenv")
            and ast.unparse(func.value) in ("os.environ", "os")
        )
    )
    if (
        not reads
        or not node.args
        or not isinstance(node.args[0], ast.Constant)
        or not isinstance(node.args[0].value, str)
    ):
        return None
    default = next((kw.value for kw in node.keywords if kw.arg == "default"), None)
    if default is None and len(node.args) > 1:
        default = node.args[1]
    return node.args[0].value, default


def _python_files() -> list[Path]:
    files = []
    for source in PYTHON_SOURCES:
        path = ROOT / source
        files += sorted(p for p in path.rglob("*.py") if "migrations" not in p.parts) if path.is_dir() else [path]
    return files


def variables_read() -> dict[str, str | None]:
    """Every variable the product reads → its literal default (None: none, or computed)."""
    found: dict[str, str | None] = {}
    for path in _python_files():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            read = _read_call(node) if isinstance(node, ast.Call) else None
            if read is not None:
                name, default = read
                found[name] = found.get(name) if found.get(name) is not None else _literal(default)
    for source in TEXT_SOURCES:
        text = "\n".join(line for line in (ROOT / source).read_text().splitlines() if not line.lstrip().startswith("#"))
        for name, default in _SHELL_VARIABLE.findall(text):
            found.setdefault(name, None)
            if default and not default.startswith("set ") and "(" not in default:
                found[name] = default
    return found


def _catalogue() -> dict[str, Variable]:
    return {variable.name: variable for _, variables in SECTIONS for variable in variables}


def render() -> str:
    """The text of .env.example."""
    defaults = variables_read()
    lines = [HEADER]
    for title, variables in SECTIONS:
        lines.append(f"# --- {title} ---")
        for variable in variables:
            if variable.required is not None:
                lines += [f"# {variable.comment}", f"{variable.name}={variable.required}"]
            elif variable.default is not None:  # described: the default is not a value to copy
                lines += [f"# {variable.comment} Default: {variable.default}.", f"# {variable.name}="]
            else:
                lines += [f"# {variable.comment}", f"# {variable.name}={defaults.get(variable.name) or ''}"]
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def missing() -> list[str]:
    """Variables the product reads that the catalogue does not describe."""
    return sorted(set(variables_read()) - set(_catalogue()))


def unread() -> list[str]:
    """Catalogue entries no code reads any more."""
    return sorted(set(_catalogue()) - set(variables_read()))


def main(argv: list[str]) -> int:
    problems = [f"read but not described in config/env_example.py: {name}" for name in missing()]
    problems += [f"described in config/env_example.py but read nowhere: {name}" for name in unread()]
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    if "--check" in argv:
        if TARGET.read_text() != render():
            print(".env.example is stale: run `python -m config.env_example`.", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(render())
    print(f"wrote {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
