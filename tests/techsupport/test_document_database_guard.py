"""The suite drops every collection of the document database it uses: pointed at a database whose
name is not a test's (a developer's `techsupport`, production's), it refuses to run at all."""

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]


def test_the_suite_refuses_a_document_database_that_is_not_a_test_database():
    server = settings.MONGO_URL.rsplit("/", 1)[0]
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}  # never this run's
    env["MONGO_URL"] = f"{server}/techsupport"

    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/localmode/test_settings_file.py",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 2
    assert "passed" not in result.stdout
    assert "Refusing to run: the tests drop the collections of MongoDB database 'techsupport'" in result.stdout
