"""`.env.example` is generated from what the code reads (config/env_example.py) and stays so."""

import ast

import pytest

from config import env_example

# The variables the issue found missing from the hand-written file.
ONCE_MISSING = [
    "EMAIL_BACKEND",
    "SEED_DEMO_PASSWORD",
    "CELERY_CONCURRENCY",
    "CELERY_QUEUES",
    "CELERY_METRICS_PORT",
    "GUNICORN_BIND",
    "RATELIMIT_ENABLE",
    "STATIC_ROOT",
    "MEDIA_ROOT",
    "PROMETHEUS_MULTIPROC_DIR",
    "DATA_UPLOAD_MAX_MEMORY_SIZE",
    "CELERY_TASK_ALWAYS_EAGER",
]


def test_every_variable_the_product_reads_is_described():
    assert env_example.missing() == [], "add them to SECTIONS in config/env_example.py"


def test_no_description_outlives_its_variable():
    assert env_example.unread() == []


def test_the_committed_file_is_the_generated_one():
    assert env_example.TARGET.read_text() == env_example.render(), "run `python -m config.env_example`"


def test_the_variables_once_missing_are_listed():
    text = env_example.TARGET.read_text()

    for name in ONCE_MISSING:
        assert f"\n# {name}=" in text, name


def test_a_copied_file_sets_only_the_secrets():
    # `cp .env.example .env` must not change anything but the secrets: an uncommented
    # ALLOWED_HOSTS once replaced compose's default and broke Prometheus' scrape of api:8000.
    assigned = [line.split("=", 1)[0] for line in env_example.TARGET.read_text().splitlines() if line[:1].isalpha()]

    assert assigned == ["SECRET_KEY", "POSTGRES_PASSWORD", "DEFAULT_ADMIN_PASSWORD", "FLOWER_BASIC_AUTH"]


@pytest.mark.parametrize(
    ("source", "read"),
    [
        ('env("A", default="x")', ("A", "x")),
        ("env.int('B', default=2 * 1024)", ("B", "2048")),
        ("env.bool('C', default=True)", ("C", "1")),
        ("env.list('D', default=['a', 'b'])", ("D", "a,b")),
        ("env('E', default=BASE_DIR / 'var')", ("E", None)),
        ("os.environ.get('F', '3')", ("F", "3")),
        ("os.getenv('G')", ("G", None)),
        ("settings.get('H')", None),
    ],
)
def test_the_scanner_reads_each_way_the_code_reads_a_variable(source, read):
    call = ast.parse(source).body[0].value

    found = env_example._read_call(call)

    assert (None if found is None else (found[0], env_example._literal(found[1]))) == read


def test_compose_defaults_are_found_in_the_compose_file():
    read = env_example.variables_read()

    assert (read["MAILPIT_UI_PORT"], read["EMAIL_HOST"], read["API_PORT"]) == ("8025", "mailpit", "8000")
    assert "HOSTNAME" not in read  # `$$HOSTNAME` is the container's, escaped from compose
