import time

import pytest

from ingestion.models import ImportJob
from tests.ingestion.workbooks import upload


@pytest.fixture
def media_root(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def post_file(admin_client, django_capture_on_commit_callbacks, media_root):
    """Uploads as an admin and runs the whole pipeline (eager Celery) as the server would after
    commit. Returns (response, job or None, seconds)."""

    def post(content: bytes, name: str = "tickets.xlsx"):
        started = time.perf_counter()
        with django_capture_on_commit_callbacks(execute=True):
            response = admin_client.post("/api/files/upload", {"file": upload(content, name)}, format="multipart")
        elapsed = time.perf_counter() - started
        job = ImportJob.objects.filter(pk=response.json().get("processId")).first()
        return response, job, elapsed

    return post
