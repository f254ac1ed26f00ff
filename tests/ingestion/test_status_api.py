import csv
import io
import uuid

import pytest
from openpyxl import load_workbook

from ingestion.models import ImportJob, ImportRowError
from tests.ingestion.workbooks import clean_rows, ticket_row, workbook_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def job_with_errors(admin_client, post_workbook, settings):
    settings.INGESTION_CHUNK_SIZE = 10
    rows = [ticket_row(n, estado="NOPE") if n % 2 else ticket_row(n) for n in range(50)]
    rows[0] = ticket_row(0, tipo_cliente="+cmd|' /C calc'!A0")  # text that a spreadsheet would run
    body = post_workbook(admin_client, workbook_bytes(rows)).json()
    return ImportJob.objects.get(pk=body["processId"])


def test_status_shape_with_the_first_20_errors(admin_client, job_with_errors):
    response = admin_client.get(f"/api/files/status/{job_with_errors.pk}")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {
        "processId",
        "filename",
        "status",
        "total",
        "processed",
        "failed",
        "progress",
        "totalFinal",
        "startedAt",
        "finishedAt",
        "createdAt",
        "errorCode",
        "errorMessage",
        "errors",
    }
    assert (body["processId"], body["filename"], body["status"]) == (
        str(job_with_errors.pk),
        "tickets.xlsx",
        "completed_with_errors",
    )
    assert (body["total"], body["processed"], body["failed"], body["progress"]) == (50, 24, 26, 100.0)
    assert (body["totalFinal"], body["errorCode"], body["errorMessage"]) == (True, None, None)
    assert body["startedAt"].endswith("Z") and body["finishedAt"].endswith("Z")
    assert len(body["errors"]) == 20
    assert body["errors"][0] == {"row": 2, "column": "tipo_cliente", "message": "Must be one of VIP, NORMAL."}
    assert body["errors"][1] == {
        "row": 3,
        "column": "estado",
        "message": "Must be one of OPEN, IN_PROGRESS, RESOLVED, CLOSED, ESCALATED, WAITING_CUSTOMER.",
    }


def test_progress_of_a_running_job():
    job = ImportJob(status="processing", total=200, processed=40, failed=10)
    assert job.progress == 25.0
    assert ImportJob(status="pending").progress == 0.0


def test_status_of_a_malformed_id_is_400(admin_client):
    response = admin_client.get("/api/files/status/not-a-uuid")

    assert response.status_code == 400
    assert response.json() == {
        "message": "'processId' must be a UUID.",
        "code": "invalid_id",
        "details": {"processId": "Must be a UUID."},
    }


def test_status_of_an_unknown_id_is_404(admin_client):
    response = admin_client.get(f"/api/files/status/{uuid.uuid4()}")

    assert response.status_code == 404
    assert response.json() == {
        "message": "The import process does not exist.",
        "code": "process_not_found",
        "details": {},
    }


def test_errors_as_csv_list_every_rejected_row(admin_client, job_with_errors):
    response = admin_client.get(f"/api/files/{job_with_errors.pk}/errors")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="import-{job_with_errors.pk}-errors.csv"'
    lines = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert lines[0] == ["row", "column", "value", "message"]
    assert len(lines) == 1 + 26
    # a value that would be a formula in a spreadsheet is neutralised
    assert lines[1] == ["2", "tipo_cliente", "'+cmd|' /C calc'!A0", "Must be one of VIP, NORMAL."]
    assert lines[2] == [
        "3",
        "estado",
        "NOPE",
        "Must be one of OPEN, IN_PROGRESS, RESOLVED, CLOSED, ESCALATED, WAITING_CUSTOMER.",
    ]


def test_errors_as_xlsx(admin_client, job_with_errors):
    response = admin_client.get(f"/api/files/{job_with_errors.pk}/errors?format=xlsx")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("row", "column", "value", "message")
    assert len(rows) == 27
    assert rows[1] == (2, "tipo_cliente", "'+cmd|' /C calc'!A0", "Must be one of VIP, NORMAL.")


def test_errors_in_an_unknown_format_is_400(admin_client, job_with_errors):
    response = admin_client.get(f"/api/files/{job_with_errors.pk}/errors?format=pdf")

    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert set(response.json()["details"]) == {"format"}


def test_errors_of_unknown_or_malformed_ids(admin_client):
    assert admin_client.get(f"/api/files/{uuid.uuid4()}/errors").status_code == 404
    assert admin_client.get("/api/files/xyz/errors").status_code == 400


def test_file_list_is_paginated_newest_first(admin_client, post_workbook, django_assert_max_num_queries):
    first = post_workbook(admin_client, workbook_bytes(clean_rows(1))).json()["processId"]
    second = post_workbook(admin_client, workbook_bytes([ticket_row(1, estado="X")])).json()["processId"]

    with django_assert_max_num_queries(5):  # user, count, page, first errors (+ savepoint slack)
        response = admin_client.get("/api/files?pageSize=1")

    body = response.json()
    assert (body["total"], body["page"], body["pageSize"]) == (2, 1, 1)
    assert [job["processId"] for job in body["data"]] == [second]
    assert body["data"][0]["errors"] == [
        {
            "row": 2,
            "column": "estado",
            "message": "Must be one of OPEN, IN_PROGRESS, RESOLVED, CLOSED, ESCALATED, WAITING_CUSTOMER.",
        }
    ]
    assert admin_client.get("/api/files?page=2&pageSize=1").json()["data"][0]["processId"] == first
    assert admin_client.get("/api/files?pageSize=0").status_code == 400


def test_file_list_query_count_does_not_grow_with_jobs(admin_client, django_assert_num_queries):
    for n in range(5):
        job = ImportJob.objects.create(filename=f"{n}.xlsx", stored_name="x", sha256="0" * 64)
        ImportRowError.objects.create(job=job, row_no=2, column="estado", message="bad")

    with django_assert_num_queries(4):  # user, count, page, first errors of all jobs
        response = admin_client.get("/api/files")

    assert len(response.json()["data"]) == 5


def test_import_job_list_latest_is_ready_for_the_status_serializer(django_assert_num_queries):
    from ingestion.selectors import import_job_list_latest
    from ingestion.status import ImportJobStatusOutput

    for n in range(12):
        ImportJob.objects.create(filename=f"{n}.xlsx", stored_name="x", sha256="0" * 64)

    with django_assert_num_queries(2):
        data = ImportJobStatusOutput(import_job_list_latest(), many=True).data

    assert [job["filename"] for job in data] == [f"{n}.xlsx" for n in range(11, 1, -1)]


@pytest.mark.parametrize(("who", "expected"), [("admin", 200), ("supervisor", 200), ("agent", 403), ("anonymous", 401)])
def test_file_read_roles(who, expected, admin_client, supervisor_client, agent_client, api_client):
    client = {"admin": admin_client, "supervisor": supervisor_client, "agent": agent_client, "anonymous": api_client}[
        who
    ]
    job = ImportJob.objects.create(filename="a.xlsx", stored_name="x", sha256="0" * 64)

    assert client.get("/api/files").status_code == expected
    assert client.get(f"/api/files/status/{job.pk}").status_code == expected
    assert client.get(f"/api/files/{job.pk}/errors").status_code == expected
