import csv
import json

import pytest
from django.core.management import CommandError, call_command
from openpyxl import load_workbook

from reports.indexes import TICKET_LOG_INDEXES
from tests.reports.factories import insert_logs, log_doc

pytestmark = pytest.mark.django_db


@pytest.fixture
def logs():
    insert_logs(
        log_doc("2024-01-10 00:00", client_type="VIP", minutes=60.25),
        log_doc("2024-02-10 00:00", client_type="NORMAL", minutes=1000),
        log_doc("2025-02-10 00:00", client_type="NORMAL", minutes=5),
    )


def run(*args) -> tuple[str, str]:
    import io

    out, err = io.StringIO(), io.StringIO()
    call_command("generate_report", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


# --- ensure_mongo_indexes --------------------------------------------------------------------
def test_ensure_mongo_indexes_is_idempotent(mongo_db, capsys):
    call_command("ensure_mongo_indexes")
    first = mongo_db["ticket_logs"].index_information()
    call_command("ensure_mongo_indexes")

    assert mongo_db["ticket_logs"].index_information() == first
    assert set(first) == {"_id_", *TICKET_LOG_INDEXES}
    assert first["clientType_createdAt"]["key"] == [("clientType", 1), ("createdAt", 1)]
    assert "ticket_logs indexes in place: createdAt, clientType_createdAt" in capsys.readouterr().out


# --- generate_report -------------------------------------------------------------------------
def test_table_is_aligned(logs):
    out, err = run("avg-resolution", "--from", "2024-01-01", "--to", "2024-12-31")

    assert out == (
        "Average resolution time per client type\n"
        "\n"
        "clientType  avgResolutionMinutes  tickets\n"
        "----------  --------------------  -------\n"
        "NORMAL                    1000.0        1\n"
        "VIP                        60.25        1\n"
    )
    assert err == ""


def test_empty_table_says_so(logs):
    out, _ = run("escalated-per-month")

    assert out == "Escalated tickets per month\n\n(no rows)\n"


def test_csv(logs):
    out, _ = run("avg-resolution", "--format", "csv", "--client-type", "NORMAL")

    assert out == "clientType,avgResolutionMinutes,tickets\r\nNORMAL,502.5,2\r\n"


def test_json_with_limit(logs):
    out, _ = run("top-agents", "--format", "json", "--limit", "1")

    assert json.loads(out) == {"data": []}


def test_json_to_file(logs, tmp_path):
    target = tmp_path / "avg.json"
    out, err = run("avg-resolution", "--format", "json", "--output", str(target))

    assert out == ""
    assert "2 rows written to" in err
    assert json.loads(target.read_text())["data"][1] == {
        "clientType": "VIP",
        "avgResolutionMinutes": 60.25,
        "tickets": 1,
    }


def test_xlsx(logs, tmp_path):
    target = tmp_path / "avg.xlsx"
    run("avg-resolution", "--format", "xlsx", "--output", str(target))

    sheet = load_workbook(target).active
    assert sheet.title == "avg-resolution"
    assert [list(row) for row in sheet.iter_rows(values_only=True)] == [
        ["clientType", "avgResolutionMinutes", "tickets"],
        ["NORMAL", 502.5, 2],
        ["VIP", 60.25, 1],
    ]


def test_xlsx_needs_output():
    with pytest.raises(CommandError, match="--output"):
        run("avg-resolution", "--format", "xlsx")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2024-02-01", "--to", "2024-01-01"], "'from' must not be after 'to'."),
        (["--from", "soon"], "Must be an ISO-8601 date"),
        (["--limit", "0"], "limit"),
    ],
)
def test_bad_options(args, message):
    with pytest.raises(CommandError, match=message):
        run("top-agents", *args)


def test_last_processes_without_jobs(db):
    out, err = run("last-processes")

    assert out == "Latest import processes\n\n(no rows)\n"
    assert err == ""


# --- Formula injection -----------------------------------------------------------------------
HOSTILE_NAME = "=10*10+cmd|' -C calc'!A0.xlsx"


def test_last_processes_xlsx_writes_a_hostile_file_name_as_text(db, tmp_path):
    from ingestion.models import ImportJob

    ImportJob.objects.create(filename=HOSTILE_NAME, stored_name="s", sha256="0" * 64, total=3)
    path = tmp_path / "last.xlsx"

    run("last-processes", "--format", "xlsx", "--output", str(path))

    sheet = load_workbook(path).active
    header = [cell.value for cell in sheet[1]]
    name = sheet.cell(row=2, column=header.index("filename") + 1)
    total = sheet.cell(row=2, column=header.index("total") + 1)
    assert (name.value, name.data_type) == ("'" + HOSTILE_NAME, "s")
    assert (total.value, total.data_type) == (3, "n")


def test_last_processes_csv_command_escapes_a_hostile_file_name(db):
    from ingestion.models import ImportJob

    ImportJob.objects.create(filename=HOSTILE_NAME, stored_name="s", sha256="0" * 64)

    out, _ = run("last-processes", "--format", "csv")

    row = next(csv.DictReader(out.splitlines()))
    assert row["filename"] == "'" + HOSTILE_NAME


def test_generate_report_says_when_the_document_store_does_not_answer(monkeypatch):
    from pymongo.errors import ServerSelectionTimeoutError

    from reports import selectors

    def down(*args, **kwargs):
        raise ServerSelectionTimeoutError("127.0.0.1:27117: [Errno 111] Connection refused, Timeout: 5.0s")

    monkeypatch.setattr(selectors, "report_run", down)

    with pytest.raises(CommandError, match=r"document store \(MONGO_URL\) is unavailable.*make docstore"):
        run("sla-compliance")
