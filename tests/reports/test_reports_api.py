import csv

import pytest

from tests.reports.factories import agent_id, insert_logs, log_doc

pytestmark = pytest.mark.django_db


@pytest.fixture
def logs():
    insert_logs(
        log_doc("2024-01-10 00:00", client_type="VIP", minutes=60, agent=1, escalation=1),
        log_doc("2024-12-31 23:59", client_type="VIP", minutes=90, agent=2),
        log_doc("2024-02-01 12:00", client_type="NORMAL", minutes=100.5, agent=1),
        log_doc("2025-01-01 00:00", client_type="NORMAL", minutes=1000, agent=2),
    )


def test_avg_resolution_json(supervisor_client, logs):
    response = supervisor_client.get("/api/reports/avg-resolution?from=2024-01-01&to=2024-12-31")

    assert response.status_code == 200
    assert response.json() == {
        "data": [
            {"clientType": "NORMAL", "avgResolutionMinutes": 100.5, "tickets": 1},
            {"clientType": "VIP", "avgResolutionMinutes": 75.0, "tickets": 2},
        ]
    }


def test_every_report_answers_admin_with_data_envelope(admin_client, logs, monkeypatch):
    monkeypatch.setattr("reports.selectors.report_last_processes", lambda: [])
    for name in ("avg-resolution", "escalated-per-month", "top-agents", "weekly-status", "sla-compliance"):
        response = admin_client.get(f"/api/reports/{name}")
        assert response.status_code == 200, name
        assert set(response.json()) == {"data"}
        assert response.json()["data"], name


def test_empty_result_is_an_empty_list(admin_client):
    assert admin_client.get("/api/reports/top-agents").json() == {"data": []}


def test_top_agents_limit_and_client_type(admin_client, logs):
    response = admin_client.get("/api/reports/top-agents?limit=1&clientType=NORMAL")

    assert response.json() == {"data": [{"agentId": agent_id(1), "avgResolutionMinutes": 100.5, "tickets": 1}]}


def test_csv_download(supervisor_client, logs):
    response = supervisor_client.get("/api/reports/avg-resolution?from=2024-01-01&to=2024-12-31&format=csv")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="avg-resolution_2024-01-01_2024-12-31.csv"'
    assert response.content.decode() == ("clientType,avgResolutionMinutes,tickets\r\nNORMAL,100.5,1\r\nVIP,75.0,2\r\n")


def test_csv_of_an_empty_report_has_the_header_and_an_open_range_name(admin_client):
    response = admin_client.get("/api/reports/escalated-per-month?format=csv&from=2024-01-01")

    assert response.content.decode() == "year,month,escalated\r\n"
    assert response["Content-Disposition"] == 'attachment; filename="escalated-per-month_2024-01-01_now.csv"'


def test_csv_without_range(admin_client, logs):
    response = admin_client.get("/api/reports/escalated-per-month?format=csv")

    assert response["Content-Disposition"] == 'attachment; filename="escalated-per-month.csv"'
    assert response.content.decode() == "year,month,escalated\r\n2024,1,1\r\n"


def test_sla_compliance_adds_the_first_response_figures_to_json_and_csv(admin_client):
    insert_logs(
        log_doc(
            "2024-06-10 10:00",
            client_type="VIP",
            minutes=60,
            due="2024-06-10 12:00",
            source="live",
            first_response_due="2024-06-10 10:15",
            first_responded="2024-06-10 10:25",
        )
    )

    [row] = admin_client.get("/api/reports/sla-compliance").json()["data"]
    csv_text = admin_client.get("/api/reports/sla-compliance?format=csv").content.decode()

    assert row == {
        "clientType": "VIP",
        "tickets": 1,
        "withinSla": 1,
        "complianceRate": 1.0,
        "avgOverrunMinutes": None,
        "firstResponseTickets": 1,
        "firstResponseWithinTarget": 0,
        "firstResponseComplianceRate": 0.0,
        "firstResponseAvgOverrunMinutes": 10.0,
    }
    assert csv_text == (
        "clientType,tickets,withinSla,complianceRate,avgOverrunMinutes,firstResponseTickets,"
        "firstResponseWithinTarget,firstResponseComplianceRate,firstResponseAvgOverrunMinutes\r\n"
        "VIP,1,1,1.0,,1,0,0.0,10.0\r\n"
    )


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=yesterday", "from"),
        ("to=2024-13-45", "to"),
        ("from=2024-02-01&to=2024-01-01", "from"),
        ("clientType=GOLD", "clientType"),
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=x", "limit"),
        ("format=pdf", "format"),
    ],
)
def test_bad_filters_are_400(admin_client, query, field):
    response = admin_client.get(f"/api/reports/top-agents?{query}")

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_error"
    assert field in body["details"]


def test_unknown_report_is_404(admin_client):
    response = admin_client.get("/api/reports/nope")

    assert response.status_code == 404
    assert response.json()["code"] == "report_not_found"
    assert response.json()["details"]["reports"][0] == "avg-resolution"


def test_agent_is_forbidden(agent_client):
    response = agent_client.get("/api/reports/avg-resolution")

    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"


def test_anonymous_is_401(api_client):
    response = api_client.get("/api/reports/avg-resolution")

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_reports_are_in_the_openapi_schema(admin_client):
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)

    assert "/api/reports/sla-compliance" in schema["paths"]
    row = schema["components"]["schemas"]["SlaComplianceRow"]
    assert list(row["properties"]) == [
        "clientType",
        "tickets",
        "withinSla",
        "complianceRate",
        "avgOverrunMinutes",
        "firstResponseTickets",
        "firstResponseWithinTarget",
        "firstResponseComplianceRate",
        "firstResponseAvgOverrunMinutes",
    ]
    assert row["properties"]["firstResponseComplianceRate"]["nullable"] is True
    parameters = {p["name"] for p in schema["paths"]["/api/reports/top-agents"]["get"]["parameters"]}
    assert {"from", "to", "clientType", "limit", "format"} <= parameters


def test_last_processes_lists_the_ten_latest_jobs_in_the_file_status_shape(admin_client):
    from datetime import timedelta

    from django.utils import timezone

    from ingestion.models import ImportJob

    now = timezone.now()
    jobs = [
        ImportJob.objects.create(filename=f"f{n}.xlsx", stored_name=f"s{n}", sha256="0" * 64, total=n, processed=n)
        for n in range(11)
    ]
    for n, job in enumerate(jobs):  # created_at is auto_now_add: spread it explicitly
        ImportJob.objects.filter(pk=job.pk).update(created_at=now - timedelta(minutes=100 - n))

    response = admin_client.get("/api/reports/last-processes?clientType=VIP")

    data = response.json()["data"]
    assert [row["filename"] for row in data] == [f"f{n}.xlsx" for n in range(10, 0, -1)]
    assert set(data[0]) == {
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
    assert data[0]["processId"] == str(jobs[10].pk)

    csv_text = admin_client.get("/api/reports/last-processes?format=csv").content.decode()
    assert csv_text.splitlines()[0] == (
        "processId,filename,status,total,processed,failed,progress,totalFinal,startedAt,finishedAt,createdAt,"
        "errorCode,errorMessage"
    )
    assert csv_text.splitlines()[1].startswith(f"{jobs[10].pk},f10.xlsx,pending,10,10,0,")


def test_last_processes_csv_escapes_a_hostile_file_name(admin_client):
    from ingestion.models import ImportJob

    hostile = "=10*10+cmd|' -C calc'!A0.xlsx"
    ImportJob.objects.create(filename=hostile, stored_name="s", sha256="0" * 64)
    ImportJob.objects.filter(filename=hostile).update(error_message="-bad", error_code="x", status="failed")

    response = admin_client.get("/api/reports/last-processes?format=csv")

    rows = list(csv.DictReader(response.content.decode().splitlines()))
    assert (rows[0]["filename"], rows[0]["errorMessage"], rows[0]["total"]) == ("'" + hostile, "'-bad", "0")
