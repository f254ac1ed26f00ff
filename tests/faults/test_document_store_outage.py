"""The document store (MongoDB) becomes unreachable: every call raises the driver's own
ServerSelectionTimeoutError, as pymongo does when no server answers. While it is down,
readiness is 503 and reports answer a JSON 503; an upload is still accepted, its chunks retry
(3 retries) and then land in the dead-letter queue with their rows counted as failed — the job
finishes instead of hanging. Once the store is back, replaying the letters stores every row
and corrects the counters: nothing lost, nothing counted twice."""

import pytest
from pymongo.errors import ServerSelectionTimeoutError

from ingestion.models import DeadLetter, ImportJob, ImportRowError
from techsupport import mongo
from techsupport.ticket_logs import COLLECTION
from tests.ingestion.workbooks import clean_rows, upload, workbook_bytes

pytestmark = pytest.mark.faults

ROWS, CHUNK = 10, 4


class _Unreachable:
    """A client, database and collection at once: indexing returns itself, every call raises."""

    def __init__(self):
        self.calls = 0

    def __getitem__(self, name):
        return self

    def __getattr__(self, name):
        def fail(*args, **kwargs):
            self.calls += 1
            raise ServerSelectionTimeoutError("mongo:27017: [Errno 111] Connection refused, Timeout: 5.0s")

        return fail


@pytest.fixture(autouse=True)
def _media_root(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.INGESTION_CHUNK_SIZE = CHUNK


def test_document_store_outage_dead_letters_then_replays_to_exact_counts(
    admin_client, mongo_db, monkeypatch, django_capture_on_commit_callbacks
):
    down = _Unreachable()
    monkeypatch.setattr(mongo, "get_client", lambda: down)

    ready = admin_client.get("/health/ready")
    report = admin_client.get("/api/reports/avg-resolution")
    with django_capture_on_commit_callbacks(execute=True):
        uploaded = admin_client.post("/api/files/upload", {"file": upload(workbook_bytes(clean_rows(ROWS)))})

    assert ready.status_code == 503
    assert ready.json()["checks"]["mongo"]["status"] == "unavailable"
    assert report.status_code == 503
    assert report.json() == {
        "message": "A backing service is unavailable; retry shortly.",
        "code": "service_unavailable",
        "details": {"service": "mongo"},
    }
    assert uploaded.status_code == 202
    job = ImportJob.objects.get(pk=uploaded.json()["processId"])
    assert (job.status, job.total, job.processed, job.failed) == ("completed_with_errors", ROWS, 0, ROWS)
    letters = list(DeadLetter.objects.filter(job=job).order_by("chunk_no"))
    assert [(letter.chunk_no, letter.attempts) for letter in letters] == [(0, 4), (1, 4), (2, 4)]
    assert all(letter.error.startswith("ServerSelectionTimeoutError") for letter in letters)
    assert ImportRowError.objects.filter(job=job).count() == ROWS
    # One insert attempt per delivery (1 + 3 retries per chunk); the report and readiness
    # probes added their own.
    assert down.calls >= 3 * 4

    monkeypatch.undo()  # the store is back
    assert admin_client.get("/health/ready").status_code == 200
    for letter in letters:
        with django_capture_on_commit_callbacks(execute=True):
            replay = admin_client.post(f"/api/queue/dlq/{letter.pk}/retry")
        assert replay.status_code == 202

    job.refresh_from_db()
    assert (job.status, job.total, job.processed, job.failed) == ("completed", ROWS, ROWS, 0)
    assert DeadLetter.objects.filter(job=job).count() == 0
    assert ImportRowError.objects.filter(job=job).count() == 0
    assert mongo_db[COLLECTION].count_documents({}) == ROWS
    assert admin_client.get("/api/reports/avg-resolution").status_code == 200
