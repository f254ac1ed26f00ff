import pytest
from django.core.management import CommandError, call_command
from openpyxl import load_workbook

from ingestion.models import ImportJob
from techsupport.ticket_logs import COLLECTION
from tests.ingestion.workbooks import HEADER, clean_rows, workbook_bytes

pytestmark = pytest.mark.django_db(transaction=True)


def test_generate_sample_excel_is_seeded_and_uses_the_seed_columns(tmp_path, capsys):
    first, second = tmp_path / "a.xlsx", tmp_path / "b.xlsx"

    call_command("generate_sample_excel", rows=200, output=str(first), invalid_ratio=0.1, seed=7, verbosity=0)
    call_command("generate_sample_excel", rows=200, output=str(second), invalid_ratio=0.1, seed=7, verbosity=0)

    rows_a = list(load_workbook(first, read_only=True).worksheets[0].iter_rows(values_only=True))
    rows_b = list(load_workbook(second, read_only=True).worksheets[0].iter_rows(values_only=True))
    assert rows_a == rows_b
    assert list(rows_a[0]) == HEADER
    assert len(rows_a) == 201
    months = {row[3].month for row in rows_a[1:] if hasattr(row[3], "month")}
    assert len(months) >= 6
    assert "Wrote 200 rows (" in capsys.readouterr().out


def test_import_tickets_runs_the_pipeline_and_summarises(tmp_path, capsys, mongo_db, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    path = tmp_path / "sample.xlsx"
    call_command("generate_sample_excel", rows=300, output=str(path), invalid_ratio=0.1, seed=3, verbosity=0)

    call_command("import_tickets", str(path), chunk_size=50, verbosity=0)

    job = ImportJob.objects.get()
    assert job.status == "completed_with_errors"
    assert (job.total, job.chunk_count) == (300, 6)
    assert job.processed + job.failed == 300
    assert 0 < job.failed < 60
    assert mongo_db[COLLECTION].count_documents({}) == job.processed
    captured = capsys.readouterr()
    assert f"Import {job.pk}: completed_with_errors" in captured.out
    assert f"rows: 300 total, {job.processed} stored, {job.failed} rejected" in captured.out


def test_import_tickets_exits_non_zero_when_the_job_fails(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    path = tmp_path / "bad.xlsx"
    path.write_bytes(workbook_bytes(clean_rows(2), header=["ticket_id"]))

    with pytest.raises(
        CommandError, match=r"The import failed: The first row is missing the required columns.*\(missing_columns\)"
    ):
        call_command("import_tickets", str(path), verbosity=0)


def test_import_tickets_refuses_a_non_xlsx(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    path = tmp_path / "notes.xlsx"
    path.write_text("hello")

    with pytest.raises(CommandError, match=r"The file is not an xlsx workbook. \(not_xlsx\)"):
        call_command("import_tickets", str(path), verbosity=0)
    assert ImportJob.objects.count() == 0
