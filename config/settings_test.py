"""Test settings: the same settings module, with test-only speedups. Service URLs still come
from the environment (`make test` / `.ci/run` set them); without MONGO_URL a throw-away document
server is started for the session (localmode/docstore.py)."""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-that-is-long-enough-for-hs256")
os.environ.setdefault("LOG_FORMAT", "console")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
# Tests drive Celery in-process unless a test starts a real worker (tests/ingestion/test_worker.py,
# tests/faults/, tests/localmode/).
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "1")
# A developer's var/local.env (their local mode's data) is never read by tests, nor by the
# processes tests start (they inherit this environment).
os.environ["LOCAL_ENV_FILE"] = ""
if not os.environ.get("MONGO_URL"):
    from localmode.docstore import start_throwaway

    os.environ["MONGO_URL"] = start_throwaway(db_name="techsupport_test")

from config.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
MEDIA_ROOT = BASE_DIR / "var" / "test-media"  # noqa: F405
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
# In-thread test workers (celery.contrib.testing start_worker) never end their thread's reused
# DB session, which then blocks dropping the test database: reconnect per task as Celery does by
# default. tests/techsupport/test_celery_db_connections.py turns reuse back on.
CELERY_DB_REUSE_MAX = 0
