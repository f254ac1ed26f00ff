import pytest

from accounts.services import supervisors_group_sync
from ingestion.models import DeadLetter, ImportJob, ImportRowError
from tests.ingestion.test_chunks import wire_rows
from tests.ingestion.workbooks import ticket_row

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


def test_task_delivery_changelist_shows_messages_that_killed_their_worker(admin_web):
    from ingestion import services

    for _ in range(3):
        services.task_delivery_begin(task_id="poison-1", task_name="ingestion.tasks.import_split_task")

    response = admin_web.get("/admin/ingestion/taskdelivery/")

    assert response.status_code == 200
    assert b"poison-1" in response.content
    assert b'<td class="field-deliveries">3</td>' in response.content
