import pytest

from tests.ingestion.workbooks import upload


@pytest.fixture(autouse=True)
def _media_root(tmp_path, settings):
    """Uploaded workbooks go to a throw-away storage location."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def post_workbook(django_capture_on_commit_callbacks):
    """POSTs a workbook and runs what the upload enqueued on commit (eager Celery: the whole
    pipeline), as the server does outside the test transaction."""

    def post(client, content: bytes, name: str = "tickets.xlsx"):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post("/api/files/upload", {"file": upload(content, name)}, format="multipart")

    return post
