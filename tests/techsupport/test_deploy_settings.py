"""Production settings: fail fast without secrets, and `check --deploy` is clean."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _production_env(**env) -> dict:
    """This process's environment without what config/settings_test.py put into it, as a production
    process would have it: with a broker URL beside a database URL (settings refuse one without the
    other; nothing connects to it here)."""
    test_only = {"DJANGO_SETTINGS_MODULE", "DEBUG", "SECRET_KEY", "SECURE_SSL_REDIRECT", "CELERY_TASK_ALWAYS_EAGER"}
    base = {k: v for k, v in os.environ.items() if k not in test_only}
    base.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
    return {**base, "DJANGO_SETTINGS_MODULE": "config.settings", **env}


def _manage(*args, **env):
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=_production_env(**env),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_check_deploy_is_clean_with_production_settings():
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DEBUG="0",
        SECRET_KEY="k3y-" + "".join(chr(48 + i % 70) for i in range(60)),
        ALLOWED_HOSTS="desk.example.com",
    )

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    result = _manage("check", DEBUG="0")

    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off." in result.stderr


def _database_settings(**env) -> str:
    script = "from django.conf import settings as s; d = s.DATABASES['default']; print(d['USER'], d['PASSWORD'],"
    script += " d['HOST'])"
    result = _shell(script, **env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def _shell(script: str, **env):
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {script}"],
        cwd=ROOT,
        env=_production_env(DEBUG="0", SECRET_KEY="k" * 50, **env),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_database_password_with_reserved_characters_travels_apart_from_the_url():
    # Compose passes POSTGRES_PASSWORD as DATABASE_PASSWORD: no character of it can break the URL.
    password = "p@ss:w/rd#?%1"

    shown = _database_settings(
        DATABASE_URL="postgres://techsupport@postgres:5432/techsupport", DATABASE_PASSWORD=password
    )

    assert shown == f"techsupport {password} postgres"


def test_a_percent_encoded_password_in_the_url_is_decoded():
    shown = _database_settings(DATABASE_URL="postgres://u:p%40ss%2Fw%23rd@db.example:5432/desk")

    assert shown == "u p@ss/w#rd db.example"


def test_an_unparseable_database_url_says_how_to_fix_it():
    result = _shell("pass", DATABASE_URL="postgres://u:pa/ss@db.example:5432/desk")

    assert result.returncode != 0
    assert "DATABASE_URL cannot be parsed" in result.stderr
    assert "set DATABASE_PASSWORD" in result.stderr
