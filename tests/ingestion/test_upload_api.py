import io
import zipfile

import pytest

from ingestion.models import ImportJob
from techsupport.ticket_logs import COLLECTION
from tests.ingestion.workbooks import HEADER, clean_rows, ticket_row, upload, workbook_bytes

pytestmark = pytest.mark.django_db


def test_a_clean_file_is_accepted_at_once_and_stored(admin_client, admin_user, post_workbook, mongo_db):
    response = post_workbook(admin_client, workbook_bytes(clean_rows(5)), name="../../etc/Tickets Enero.xlsx")

    assert response.status_code == 202
    body = response.json()
    assert set(body) == {"processId", "status", "statusUrl"}
    assert body["status"] == "pending"  # answered before any worker looked at the file
    assert body["statusUrl"] == f"/api/files/status/{body['processId']}"
    job = ImportJob.objects.get(pk=body["processId"])
    assert job.filename == "Tickets Enero.xlsx"
    assert job.stored_name == f"imports/{job.pk}.xlsx"
    assert job.uploaded_by == admin_user
    assert len(job.sha256) == 64
    assert (job.status, job.total, job.processed, job.failed, job.chunk_count) == ("completed", 5, 5, 0, 1)
    assert job.started_at is not None and job.finished_at is not None

    status = admin_client.get(body["statusUrl"]).json()
    assert {k: status[k] for k in ("status", "total", "processed", "failed", "progress", "errors")} == {
        "status": "completed",
        "total": 5,
        "processed": 5,
        "failed": 0,
        "progress": 100.0,
        "errors": [],
    }
    assert mongo_db[COLLECTION].count_documents({}) == 5
    document = mongo_db[COLLECTION].find_one({"_id": "00000000-0000-0000-0000-000000000001"})
    assert document["source"] == "import"
    assert document["importJobId"] == str(job.pk)
    assert document["clientType"] == "VIP"
    assert document["status"] == "RESOLVED"
    assert document["resolutionMinutes"] == 90.0
    assert document["createdAt"].isoformat() == "2025-01-01T08:30:00+00:00"


def test_the_split_sends_chunks_of_the_configured_size(admin_client, post_workbook, settings):
    settings.INGESTION_CHUNK_SIZE = 2

    body = post_workbook(admin_client, workbook_bytes(clean_rows(5))).json()

    job = ImportJob.objects.get(pk=body["processId"])
    assert (job.status, job.chunk_count, job.processed) == ("completed", 3, 5)
    assert sorted(job.chunks.values_list("chunk_no", "first_row_no", "row_count")) == [(0, 2, 2), (1, 4, 2), (2, 6, 1)]


def test_english_aliases_and_messy_header_names_are_accepted(admin_client, post_workbook):
    header = [
        " Ticket_ID ",
        "CLIENT_ID",
        "client_type",
        "Created_At",
        "resolved_at",
        "agent_id",
        "escalation_level",
        "Status",
    ]
    body = post_workbook(admin_client, workbook_bytes(clean_rows(2), header=[*header, "notes"])).json()

    assert ImportJob.objects.get(pk=body["processId"]).processed == 2


def test_a_missing_column_fails_the_job_naming_it(admin_client, post_workbook, mongo_db):
    header = [name for name in HEADER if name != "tipo_cliente"]
    rows = [[value for name, value in zip(HEADER, row, strict=True) if name != "tipo_cliente"] for row in clean_rows(3)]

    body = post_workbook(admin_client, workbook_bytes(rows, header=header)).json()

    status = admin_client.get(body["statusUrl"]).json()
    assert (status["status"], status["total"], status["processed"], status["failed"]) == ("failed", 0, 0, 0)
    job = ImportJob.objects.get(pk=body["processId"])
    assert job.error_message == "The first row is missing the required column: tipo_cliente."
    assert mongo_db[COLLECTION].count_documents({}) == 0


def test_an_empty_sheet_fails_the_job(admin_client, post_workbook):
    body = post_workbook(admin_client, workbook_bytes([], header=[])).json()

    job = ImportJob.objects.get(pk=body["processId"])
    assert job.status == "failed"
    assert job.error_message == "The first sheet is empty: it needs a header row."


def test_a_header_only_sheet_completes_with_nothing_to_do(admin_client, post_workbook):
    body = post_workbook(admin_client, workbook_bytes([])).json()

    job = ImportJob.objects.get(pk=body["processId"])
    assert (job.status, job.total, job.chunk_count) == ("completed", 0, 0)


def test_blank_rows_are_skipped_and_row_numbers_stay_excels(admin_client, post_workbook):
    rows = [ticket_row(0), [None] * 8, ticket_row(1, estado="NOPE")]

    body = post_workbook(admin_client, workbook_bytes(rows)).json()

    status = admin_client.get(body["statusUrl"]).json()
    assert (status["total"], status["processed"], status["failed"]) == (2, 1, 1)
    assert status["errors"] == [
        {
            "row": 4,
            "column": "estado",
            "message": "Must be one of OPEN, IN_PROGRESS, RESOLVED, CLOSED, ESCALATED, WAITING_CUSTOMER.",
        }
    ]


def test_too_many_rows_fail_the_job(admin_client, post_workbook, settings):
    settings.INGESTION_MAX_ROWS = 3

    body = post_workbook(admin_client, workbook_bytes(clean_rows(4))).json()

    job = ImportJob.objects.get(pk=body["processId"])
    assert job.status == "failed"
    assert job.error_message == "The sheet has 4 data rows, over the limit of 3."


def _zip_without_workbook() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", "<w/>")
    return buffer.getvalue()


@pytest.mark.parametrize(
    "content",
    [b"ticket_id,client_id\n1,2\n", b"", _zip_without_workbook(), b"PK\x03\x04 truncated"],
    ids=["csv-named-xlsx", "empty", "docx-like-zip", "broken-zip"],
)
def test_a_file_that_is_not_an_xlsx_is_415(admin_client, content):
    response = admin_client.post("/api/files/upload", {"file": upload(content)}, format="multipart")

    assert response.status_code == 415
    assert response.json() == {"message": "The file is not an xlsx workbook.", "code": "not_xlsx", "details": {}}
    assert ImportJob.objects.count() == 0


def test_a_file_over_the_size_limit_is_413(admin_client, settings):
    settings.INGESTION_MAX_UPLOAD_MB = 0

    response = admin_client.post(
        "/api/files/upload", {"file": upload(workbook_bytes(clean_rows(1)))}, format="multipart"
    )

    assert response.status_code == 413
    body = response.json()
    assert body["code"] == "file_too_large"
    assert body["message"] == "The file is larger than the 0 MB limit."
    assert body["details"]["maxBytes"] == 0
    assert ImportJob.objects.count() == 0


def test_a_workbook_that_inflates_past_the_cap_is_413(admin_client, settings):
    settings.INGESTION_MAX_UNCOMPRESSED_MB = 0

    response = admin_client.post(
        "/api/files/upload", {"file": upload(workbook_bytes(clean_rows(1)))}, format="multipart"
    )

    assert response.status_code == 413
    assert response.json()["code"] == "uncompressed_too_large"


def test_no_file_is_400(admin_client):
    response = admin_client.post("/api/files/upload", {}, format="multipart")

    assert response.status_code == 400
    assert response.json() == {
        "message": "The request is invalid.",
        "code": "validation_error",
        "details": {"file": "No file was submitted."},
    }


def test_the_same_file_twice_never_duplicates_documents(admin_client, post_workbook, mongo_db):
    content = workbook_bytes(clean_rows(4))

    first = post_workbook(admin_client, content).json()
    second = post_workbook(admin_client, content).json()

    assert first["processId"] != second["processId"]
    jobs = ImportJob.objects.order_by("created_at")
    assert [(job.status, job.processed) for job in jobs] == [("completed", 4), ("completed", 4)]
    assert jobs[0].sha256 == jobs[1].sha256
    assert mongo_db[COLLECTION].count_documents({}) == 4
    # the documents now belong to the latest import
    assert mongo_db[COLLECTION].count_documents({"importJobId": second["processId"]}) == 4


def test_a_corrected_reimport_updates_the_documents(admin_client, post_workbook, mongo_db):
    post_workbook(admin_client, workbook_bytes([ticket_row(0, estado="OPEN")]))

    post_workbook(admin_client, workbook_bytes([ticket_row(0, estado="CLOSED")]))

    assert mongo_db[COLLECTION].count_documents({}) == 1
    assert mongo_db[COLLECTION].find_one({})["status"] == "CLOSED"


@pytest.mark.parametrize(("who", "expected"), [("admin", 202), ("supervisor", 202), ("agent", 403), ("anonymous", 401)])
def test_upload_roles(who, expected, admin_client, supervisor_client, agent_client, api_client, post_workbook):
    client = {"admin": admin_client, "supervisor": supervisor_client, "agent": agent_client, "anonymous": api_client}[
        who
    ]

    response = post_workbook(client, workbook_bytes(clean_rows(1)))

    assert response.status_code == expected


def test_an_upload_is_streamed_into_storage_hashed_and_moved_not_copied(admin_client, post_workbook, settings):
    """The `file` part is written once, inside the storage's imports/ directory, hashed on the
    way (ingestion/upload_handler.py), and renamed into place: no part file stays behind."""
    import hashlib
    from pathlib import Path

    content = workbook_bytes(clean_rows(3))
    response = post_workbook(admin_client, content)

    job = ImportJob.objects.get(pk=response.json()["processId"])
    imports = Path(settings.MEDIA_ROOT) / "imports"
    assert job.sha256 == hashlib.sha256(content).hexdigest()
    assert (imports / f"{job.pk}.xlsx").read_bytes() == content
    assert list(imports.glob(".incoming-*")) == []


def test_a_refused_upload_leaves_no_part_file(admin_client, post_workbook, settings):
    from pathlib import Path

    response = post_workbook(admin_client, b"not a workbook at all")

    assert response.status_code == 415
    assert list((Path(settings.MEDIA_ROOT) / "imports").glob(".incoming-*")) == []
