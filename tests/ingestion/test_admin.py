import re
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from accounts.services import supervisors_group_sync
from ingestion.models import DeadLetter, ImportJob, ImportRowError
from tests.ingestion.test_chunks import wire_rows
from tests.ingestion.workbooks import XLSX_TYPE, ticket_row, workbook_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_web(client, admin_user):
    client.force_login(admin_user)
    return client


def test_import_job_changelist_shows_progress_and_rate(admin_web, django_assert_max_num_queries):
    for n in range(5):
        ImportJob.objects.create(filename=f"{n}.xlsx", stored_name="x", sha256="0" * 64, total=10, processed=5)

    with django_assert_max_num_queries(10):
        response = admin_web.get("/admin/ingestion/importjob/")

    assert response.status_code == 200
    assert b'title="50.0%"' in response.content


def test_dead_letter_changelist_query_count_does_not_grow_with_letters(admin_web, django_assert_max_num_queries):
    for n in range(6):
        job = ImportJob.objects.create(filename=f"{n}.xlsx", stored_name="x", sha256="0" * 64)
        DeadLetter.objects.create(
            job=job,
            chunk_no=0,
            task_name="ingestion.tasks.import_chunk_task",
            payload={"args": [str(job.pk), 0, 2, [None, None]], "kwargs": {}},
            error="AutoReconnect: down\ntraceback",
        )

    with django_assert_max_num_queries(10):
        response = admin_web.get("/admin/ingestion/deadletter/")

    assert response.status_code == 200
    assert response.content.count(b"AutoReconnect: down") == 6


def test_import_job_page_shows_the_first_row_errors(admin_web):
    job = ImportJob.objects.create(filename="a.xlsx", stored_name="x", sha256="0" * 64, status="completed_with_errors")
    ImportRowError.objects.bulk_create(
        ImportRowError(job=job, row_no=n, column="estado", value="X", message=f"bad {n}") for n in range(2, 80)
    )

    response = admin_web.get(f"/admin/ingestion/importjob/{job.pk}/change/")

    assert response.status_code == 200
    assert b"bad 51" in response.content
    assert b"bad 52" not in response.content  # first 50 only


def test_supervisor_can_view_but_not_retry(client, supervisor):
    supervisor.groups.add(supervisors_group_sync())
    client.force_login(supervisor)
    assert client.get("/admin/ingestion/importjob/").status_code == 200
    response = client.get("/admin/ingestion/deadletter/")
    assert response.status_code == 200
    assert b"Retry the selected" not in response.content


def test_dead_letter_retry_action_uses_the_service(admin_web, django_capture_on_commit_callbacks, mongo_db):
    job = ImportJob.objects.create(
        filename="a.xlsx",
        stored_name="x",
        sha256="0" * 64,
        status="completed_with_errors",
        total=1,
        failed=1,
        chunk_count=1,
    )
    rows = wire_rows([ticket_row(0)])
    job.chunks.create(chunk_no=0, first_row_no=2, row_count=1, failed=1, dead_lettered=True)
    letter = DeadLetter.objects.create(
        job=job,
        chunk_no=0,
        task_name="ingestion.tasks.import_chunk_task",
        payload={"args": [str(job.pk), 0, 2, rows], "kwargs": {"duplicates": None}},
        error="AutoReconnect: down",
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_web.post(
            "/admin/ingestion/deadletter/", {"action": "retry", "_selected_action": [str(letter.pk)]}
        )

    assert response.status_code == 302
    job.refresh_from_db()
    assert (job.status, job.processed, job.failed) == ("completed", 1, 0)
    assert DeadLetter.objects.count() == 0


# --- live progress ----------------------------------------------------------------------
def _job(**fields) -> ImportJob:
    return ImportJob.objects.create(filename="live.xlsx", stored_name="x", sha256="0" * 64, **fields)


def test_the_list_shows_percentage_and_rate_and_loads_the_poller(admin_web):
    started = timezone.now() - timedelta(seconds=10)
    _job(status="processing", total=4000, processed=1500, failed=500, started_at=started)

    html = admin_web.get("/admin/ingestion/importjob/").content.decode()

    assert '<span class="import-pct">50.0 %</span>' in html
    # Every figure is a live cell the page's script refreshes (a model field's name in
    # list_display would show the plain value instead, frozen at page load).
    for field, text in [("total", "4,000"), ("processed", "1,500"), ("failed", "500"), ("status", "Processing")]:
        assert f'data-job-field="{field}">{text}</span>' in html, field
    assert re.search(r'data-job-field="rows_per_second">(19\d|200) rows/s<', html)
    assert 'data-finished="0"' in html
    assert "ingestion/admin/import_progress.js" in html
    assert 'data-progress-url="/admin/ingestion/importjob/progress/"' in html


def test_the_progress_endpoint_gives_the_live_figures_of_the_jobs_asked(admin_web):
    started = timezone.now() - timedelta(seconds=4)
    running = _job(status="processing", total=1000, processed=250, failed=50, started_at=started)
    done = _job(
        status="completed_with_errors",
        total=10,
        processed=9,
        failed=1,
        started_at=started,
        finished_at=started + timedelta(seconds=2),
    )
    _job(status="pending")  # not asked for

    body = admin_web.get(f"/admin/ingestion/importjob/progress/?ids={running.pk},{done.pk}").json()

    jobs = {job["id"]: job for job in body["jobs"]}
    assert set(jobs) == {str(running.pk), str(done.pk)}
    live = jobs[str(running.pk)]
    assert (live["status"], live["finished"], live["progress"], live["processed"], live["failed"], live["total"]) == (
        "processing",
        False,
        30.0,
        250,
        50,
        1000,
    )
    assert 70 <= live["rowsPerSecond"] <= 75  # 300 rows in ~4 s (the clock moved a little)
    assert live["text"]["progress"] == "30.0 %" and live["text"]["status"] == "Processing"
    finished = jobs[str(done.pk)]
    assert (finished["finished"], finished["progress"], finished["rowsPerSecond"], finished["barColour"]) == (
        True,
        100.0,
        5.0,
        "#d8a200",
    )
    assert finished["text"]["rows_per_second"] == "5 rows/s" and finished["text"]["duration"] == "2.0 s"


def test_the_progress_endpoint_refuses_bad_ids_and_non_staff(admin_web, agent, client):
    bad = admin_web.get("/admin/ingestion/importjob/progress/?ids=nope")
    assert bad.status_code == 400
    assert bad.json()["code"] == "invalid_id"

    client.logout()
    client.force_login(agent)
    refused = client.get(f"/admin/ingestion/importjob/progress/?ids={_job().pk}")
    assert refused.status_code == 302 and refused["Location"].startswith("/admin/login/")


# --- upload page --------------------------------------------------------------------------
@pytest.fixture
def supervisor_web(client, supervisor):
    supervisor.groups.add(supervisors_group_sync())
    client.force_login(supervisor)
    return client


def test_a_supervisor_uploads_through_the_service_and_lands_on_the_live_job(
    supervisor_web, supervisor, django_capture_on_commit_callbacks
):
    assert "Upload a workbook" in supervisor_web.get("/admin/ingestion/importjob/").content.decode()
    assert supervisor_web.get("/admin/ingestion/importjob/add/").status_code == 200
    upload = SimpleUploadedFile("history.xlsx", workbook_bytes([ticket_row(n) for n in range(3)]), XLSX_TYPE)

    with django_capture_on_commit_callbacks(execute=True):
        response = supervisor_web.post("/admin/ingestion/importjob/add/", {"file": upload})

    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/admin/ingestion/importjob/{job.pk}/change/"
    assert (job.filename, job.uploaded_by, job.status, job.total, job.processed) == (
        "history.xlsx",
        supervisor,
        "completed",
        3,
        3,
    )
    page = supervisor_web.get(response["Location"]).content.decode()
    assert "«history.xlsx» uploaded: the workers are importing it." in page
    assert '<span class="import-pct">100.0 %</span>' in page


def test_a_refused_file_is_shown_on_the_upload_form(supervisor_web):
    upload = SimpleUploadedFile("notes.xlsx", b"just text, not a workbook", XLSX_TYPE)

    response = supervisor_web.post("/admin/ingestion/importjob/add/", {"file": upload})

    assert response.status_code == 200
    assert "[not_xlsx]" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_a_file_over_the_limit_is_refused_on_the_form(supervisor_web, settings):
    settings.INGESTION_MAX_UPLOAD_MB = 0
    upload = SimpleUploadedFile("big.xlsx", workbook_bytes([ticket_row(0)]), XLSX_TYPE)

    response = supervisor_web.post("/admin/ingestion/importjob/add/", {"file": upload})

    assert "[file_too_large]" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_task_delivery_changelist_shows_messages_that_killed_their_worker(admin_web):
    from ingestion import services

    for _ in range(3):
        services.task_delivery_begin(task_id="poison-1", task_name="ingestion.tasks.import_split_task")

    response = admin_web.get("/admin/ingestion/taskdelivery/")

    assert response.status_code == 200
    assert b"poison-1" in response.content
    assert b'<td class="field-deliveries">3</td>' in response.content
