"""Settings, read once from the environment.

Production sets DEBUG=0, SECRET_KEY and the service URLs (DATABASE_URL, REDIS_URL, MONGO_URL).
Local mode (`make run`) reads `var/local.env`, written on its first start (localmode/settings_file.py):
DEBUG on, a generated SECRET_KEY and the local document server's MONGO_URL, with SQLite under
`var/` and the local file broker (localmode/broker.py) unless DATABASE_URL / REDIS_URL are set.
Every process of the checkout reads that file, so they all share one set of stores. Variables in
the environment win over it; `.env` is docker compose's file and is not read here.
"""

import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import environ
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
# LOCAL_ENV_FILE="" turns the file off (the test settings do: tests never touch a developer's data).
LOCAL_ENV_FILE = os.environ.get("LOCAL_ENV_FILE", str(BASE_DIR / "var" / "local.env"))
if LOCAL_ENV_FILE and Path(LOCAL_ENV_FILE).is_file():
    environ.Env.read_env(LOCAL_ENV_FILE, overwrite=False)
else:
    LOCAL_ENV_FILE = ""

DEBUG = env.bool("DEBUG", default=False)
# Local mode: the developer's machine. Only here do insecure conveniences (default admin
# password, email to files) exist.
LOCAL_MODE = DEBUG

SECRET_KEY = env("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when DEBUG is off. (Local mode: run `make run` once; it writes var/local.env.)"
        )
    SECRET_KEY = "local-insecure-development-key-do-not-use-in-production"

# The three stores. A process that shares PostgreSQL or Redis with others must share the document
# store too: without MONGO_URL it would have none (its writes lost, its reports empty).
DATABASE_URL = env("DATABASE_URL", default="")
REDIS_URL = env("REDIS_URL", default="")
MONGO_URL = env("MONGO_URL", default="")
if (DATABASE_URL or REDIS_URL) and not MONGO_URL:
    raise ImproperlyConfigured(
        "MONGO_URL must be set when DATABASE_URL or REDIS_URL is set: every process must use the same "
        "MongoDB server for ticket logs (e.g. MONGO_URL=mongodb://host:27017/techsupport)."
    )

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_URLS_REGEX = r"^/api/.*$"

INSTALLED_APPS = [
    "techsupport.admin_site.BackOfficeAdminConfig",  # django.contrib.admin, ordered for supervisors
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "django_prometheus",
    "django_celery_beat",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_ratelimit",
    "techsupport",
    "accounts",
    "tickets",
    "ingestion",
    "reports",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "techsupport.logging.RequestIdMiddleware",
    "techsupport.middleware.JsonErrorMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "techsupport.middleware.BodySizeLimitMiddleware",
    "techsupport.middleware.QueryStringGuardMiddleware",
    "techsupport.middleware.ApiRateLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


# --- Data stores -------------------------------------------------------------------------
def _database_from_url(url: str) -> dict:
    """DATABASE_URL, with DATABASE_PASSWORD (when set) as the password: a password travels there
    verbatim, while inside the URL its reserved characters must be percent-encoded."""
    try:
        config = env.db_url_config(url)
    except ValueError as exc:
        raise ImproperlyConfigured(
            f"DATABASE_URL cannot be parsed ({exc}). Percent-encode reserved characters of the password "
            "(/ %2F, ? %3F, % %25, @ %40, : %3A, # %23) or leave it out of the URL and set DATABASE_PASSWORD."
        ) from exc
    password = env("DATABASE_PASSWORD", default="")
    if password:
        config["PASSWORD"] = password
    return config


DATABASES = {
    "default": _database_from_url(DATABASE_URL)
    if DATABASE_URL
    else {"ENGINE": "django.db.backends.sqlite3", "NAME": str(BASE_DIR / "var" / "db.sqlite3")}
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("OPTIONS", {})
    # A slow query gives an error the API turns into 503, never a hung worker.
    DATABASES["default"]["OPTIONS"]["options"] = (
        f"-c statement_timeout={env.int('DB_STATEMENT_TIMEOUT_MS', default=30000)}"
    )
    DATABASES["default"]["OPTIONS"]["connect_timeout"] = env.int("DB_CONNECT_TIMEOUT_S", default=5)
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
    # No `SELECT 1` before each request: a dropped session is noticed on its socket instead
    # (techsupport/db_connections.py, connected to request_started and run before each task).
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = False
else:
    # SQLite (local mode, tests without DATABASE_URL), made to answer like PostgreSQL under
    # concurrency: WAL lets readers run beside the writer; IMMEDIATE makes a write transaction
    # take the lock when it begins, so concurrent changes queue (as row locks do) instead of
    # failing with "database is locked" when one upgrades a read lock; a writer waits up to
    # `timeout` seconds for its turn.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"


def _redis_db(url: str, offset: int) -> str:
    """The same Redis server, `offset` databases further (the cache must not share the
    broker's database: clearing it would drop queued tasks)."""
    parts = urlsplit(url)
    db = int(parts.path.strip("/") or 0)
    return urlunsplit(parts._replace(path=f"/{db + offset}"))


if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": env("CACHE_URL", default=_redis_db(REDIS_URL, 1)),
            "OPTIONS": {
                "socket_connect_timeout": env.float("REDIS_SOCKET_TIMEOUT_S", default=2.0),
                "socket_timeout": env.float("REDIS_SOCKET_TIMEOUT_S", default=2.0),
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# MongoDB holds `ticket_logs` (techsupport/mongo.py is the only place that creates a client).
MONGO_DB_NAME = (
    env("MONGO_DB_NAME", default="") or (urlsplit(MONGO_URL).path.strip("/") if MONGO_URL else "") or "techsupport"
)
MONGO_TIMEOUT_MS = env.int("MONGO_TIMEOUT_MS", default=5000)

# --- Celery ------------------------------------------------------------------------------
CELERY_RESULT_BACKEND = None
# Tests only (config/settings_test.py): every process of the product publishes to a broker.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Without this, Celery's Django fixup closes the DB connection around every task: a new
# PostgreSQL session per task (~5 ms; ~20 % of an ingestion chunk). Connections are reused and
# checked before each task like a request's (config/celery.py: CONN_MAX_AGE, health check).
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1000)
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "ingestion.tasks.*": {"queue": "ingestion"},
    "tickets.tasks.sla_*": {"queue": "sla"},
    "tickets.tasks.notification_*": {"queue": "notifications"},
    "reports.tasks.*": {"queue": "projections"},
}
# The queues, in one place: a worker started without --queues consumes all of them.
CELERY_TASK_QUEUES = [Queue(name) for name in ("ingestion", "sla", "notifications", "projections", "default")]
# No result backend: tasks' return values are for their log line only.
CELERY_TASK_IGNORE_RESULT = True
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # Longer than the slowest task: an unacknowledged task is redelivered after this.
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT_S", default=3600),
        # Workers scan for overdue unacknowledged messages every interval x throttle seconds (kombu
        # default 10 x 10 = 100 s); the fault drills (tests/faults) lower the throttle to 1.
        "unacked_restore_throttle": env.int("CELERY_UNACKED_RESTORE_THROTTLE", default=10),
        "socket_timeout": env.float("REDIS_SOCKET_TIMEOUT_S", default=2.0),
        "socket_connect_timeout": env.float("REDIS_SOCKET_TIMEOUT_S", default=2.0),
    }
elif LOCAL_MODE:
    # Local mode: the file broker every process of the checkout shares (localmode/broker.py).
    from localmode.broker import transport_options

    LOCAL_BROKER_DIR = Path(env("LOCAL_BROKER_DIR", default=str(BASE_DIR / "var" / "broker")))
    CELERY_BROKER_URL = "filesystem://localhost/"
    CELERY_BROKER_TRANSPORT = "localmode.broker:Transport"
    CELERY_BROKER_TRANSPORT_OPTIONS = transport_options(LOCAL_BROKER_DIR)
elif DATABASE_URL and not CELERY_TASK_ALWAYS_EAGER:
    raise ImproperlyConfigured("REDIS_URL must be set outside local mode: it is the broker every worker consumes.")
else:
    CELERY_BROKER_URL = "memory://"  # build steps (collectstatic) and eager tests publish nothing
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TIMEZONE = "UTC"

# --- Auth --------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

DEFAULT_ADMIN_EMAIL = env("DEFAULT_ADMIN_EMAIL", default="admin@techsupport.pro" if LOCAL_MODE else "")
DEFAULT_ADMIN_PASSWORD = env("DEFAULT_ADMIN_PASSWORD", default="admin123" if LOCAL_MODE else "")
INSECURE_DEFAULT_ADMIN_PASSWORD = "admin123"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.authentication.JWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "techsupport.parsers.JSONParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "techsupport.pagination.StandardPagination",
    "DEFAULT_SCHEMA_CLASS": "techsupport.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "techsupport.exceptions.api_exception_handler",
    "UNAUTHENTICATED_USER": None,
    "DATETIME_FORMAT": "%Y-%m-%dT%H:%M:%S.%fZ",
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=7)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "SIGNING_KEY": env("JWT_SIGNING_KEY", default=SECRET_KEY),
    "ALGORITHM": "HS256",
    "AUTH_HEADER_TYPES": ("Bearer",),
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "sub",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "TechSupport Pro API",
    "DESCRIPTION": "Support desk: tickets with SLAs, Excel ingestion, reports.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "ClientTypeEnum": "tickets.states.ClientType",
        "TicketStatusEnum": "tickets.states.TicketStatus",
        "RoleEnum": "accounts.roles.Role",
        "ErrorCodeEnum": "techsupport.error_codes.ErrorCode",
    },
}

# --- Rate limits (django-ratelimit, counters in the cache: Redis when configured) ---------
LOGIN_RATE_LIMIT_EMAIL = env("LOGIN_RATE_LIMIT_EMAIL", default="5/m")
LOGIN_RATE_LIMIT_IP = env("LOGIN_RATE_LIMIT_IP", default="20/m")
API_RATE_LIMIT = env("API_RATE_LIMIT", default="1000/15m")
# Refresh needs no password, so it is limited too: per client IP and per verified token subject.
REFRESH_RATE_LIMIT_IP = env("REFRESH_RATE_LIMIT_IP", default="30/m")
REFRESH_RATE_LIMIT_USER = env("REFRESH_RATE_LIMIT_USER", default="10/m")
RATELIMIT_ENABLE = env.bool("RATELIMIT_ENABLE", default=True)
# Behind a reverse proxy set this to e.g. HTTP_X_REAL_IP, so limits apply per client.
RATELIMIT_IP_META_KEY = env("RATELIMIT_IP_META_KEY", default=None)
RATELIMIT_FAIL_OPEN = False
SILENCED_SYSTEM_CHECKS = [
    # Django's own RedisCache increments atomically (INCR); the check only knows django-redis.
    "django_ratelimit.W001",
]
if not REDIS_URL:
    # Local mode: the rate-limited requests are all served by the one web process, so its local
    # memory is the shared cache.
    SILENCED_SYSTEM_CHECKS.append("django_ratelimit.E003")

# --- Uploads -----------------------------------------------------------------------------
INGESTION_MAX_UPLOAD_MB = env.int("INGESTION_MAX_UPLOAD_MB", default=50)
# Non-file bodies (JSON) stay small; multipart uploads are bounded by the upload limit.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=2 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
MAX_REQUEST_BODY_BYTES = (INGESTION_MAX_UPLOAD_MB + 1) * 1024 * 1024
# The sign-in endpoints (login, refresh, logout, register, the admin login page) take small
# bodies of one media type; anything larger is refused before it is read.
AUTH_MAX_BODY_BYTES = env.int("AUTH_MAX_BODY_BYTES", default=16 * 1024)

# --- i18n, static, media -----------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env("STATIC_ROOT", default=str(BASE_DIR / "var" / "static")))
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(BASE_DIR / "var" / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

ADMIN_URL = env("ADMIN_URL", default="admin/")

# --- Email -------------------------------------------------------------------------------
# Local mode writes each email to a file under var/mail/ (one file per delivery batch): printed
# on the console, every line of every SLA email became a warning line in `make run`'s output.
EMAIL_BACKEND = env(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.filebased.EmailBackend"
    if LOCAL_MODE
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_FILE_PATH = env("EMAIL_FILE_PATH", default=str(BASE_DIR / "var" / "mail"))
EMAIL_HOST = env("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="TechSupport Pro <noreply@techsupport.pro>")

# --- Security (production) ---------------------------------------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^health", r"^metrics$"]
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# --- Logging -----------------------------------------------------------------------------
LOG_LEVEL = env("LOG_LEVEL", default="INFO")
LOG_FORMAT = env("LOG_FORMAT", default="console" if DEBUG else "json")
from techsupport.logging import build_logging_config  # noqa: E402

LOGGING_CONFIG = None
build_logging_config(LOG_FORMAT, LOG_LEVEL)

# --- Periodic tasks ----------------------------------------------------------------------
# `manage.py setup_periodic_tasks` installs these into celery-beat's DatabaseScheduler (beat runs
# beside the worker in production, inside the local worker under `make run`).
PERIODIC_TASKS: dict[str, dict] = {
    "sla-sweep": {"task": "tickets.tasks.sla_sweep_task", "every": 60},
    "notifications-redrive": {"task": "tickets.tasks.notification_redrive_task", "every": 300},
    "projections-redrive": {"task": "reports.tasks.ticket_log_redrive_task", "every": 300},
    "imports-redrive": {"task": "ingestion.tasks.import_job_redrive_task", "every": 300},
}

# --- SLA ---------------------------------------------------------------------------------
SLA_SWEEP_BATCH_SIZE = env.int("SLA_SWEEP_BATCH_SIZE", default=1000)
# Batch loops of the periodic sweep at once, each on its own database connection (SKIP LOCKED
# shares the due rows out): one plans a batch in Python while PostgreSQL writes another's.
SLA_SWEEP_WORKERS = env.int("SLA_SWEEP_WORKERS", default=2)
# How long a ticket change waits for a concurrent one on the same ticket (PostgreSQL
# lock_timeout) before it is refused with 409 concurrent_update.
TICKET_LOCK_TIMEOUT_MS = env.int("TICKET_LOCK_TIMEOUT_MS", default=3000)
# Auto-assignment (tiers that opt in, tickets/auto_assign.py) passes by an agent who already
# holds this many open tickets.
AUTO_ASSIGN_MAX_OPEN_PER_AGENT = env.int("AUTO_ASSIGN_MAX_OPEN_PER_AGENT", default=20)
SLA_WEBHOOK_URL = env("SLA_WEBHOOK_URL", default="")
SLA_WEBHOOK_TIMEOUT_S = env.float("SLA_WEBHOOK_TIMEOUT_S", default=5.0)

# --- Ingestion ---------------------------------------------------------------------------
INGESTION_CHUNK_SIZE = env.int("INGESTION_CHUNK_SIZE", default=5000)
INGESTION_MAX_ROWS = env.int("INGESTION_MAX_ROWS", default=1_048_576)
INGESTION_MAX_UNCOMPRESSED_MB = env.int("INGESTION_MAX_UNCOMPRESSED_MB", default=1024)
# Bounds checked before the reader allocates (ingestion/xlsx_prescan.py): the used range's
# width, and its rows x columns (also the cap on non-empty cells, shared strings and merged
# ranges). The reader holds 32 bytes per cell of the range: 16,777,216 cells is 512 MB.
INGESTION_MAX_COLUMNS = env.int("INGESTION_MAX_COLUMNS", default=64)
INGESTION_MAX_CELLS = env.int("INGESTION_MAX_CELLS", default=16_777_216)
# A split or chunk message whose deliveries killed the worker this many times is not run again:
# the chunk goes to the dead-letter queue, the split fails its job (`worker_crashed`).
INGESTION_MAX_WORKER_CRASHES = env.int("INGESTION_MAX_WORKER_CRASHES", default=3)
