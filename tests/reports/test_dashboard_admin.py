from datetime import timedelta

import pytest
from django.test import Client as WebClient
from django.utils import timezone

from accounts.services import supervisors_group_sync
from tests.accounts.factories import UserFactory
from tests.reports.factories import agent_id, insert_logs, log_doc
from tests.tickets.factories import ClientFactory, TicketFactory
from tickets.states import ClientType, TicketStatus

pytestmark = pytest.mark.django_db
URL = "/admin/reports/dashboard/"


def browser_for(user) -> WebClient:
    browser = WebClient()
    browser.force_login(user)
    return browser


@pytest.fixture
def supervisor_browser(supervisor):
    supervisor.groups.add(supervisors_group_sync())
    return browser_for(supervisor)


def test_supervisor_sees_the_dashboard_linked_from_the_index(supervisor_browser):
    index = supervisor_browser.get("/admin/")
    response = supervisor_browser.get(URL)

    assert URL in index.content.decode()
    assert response.status_code == 200
    assert "Reports dashboard" in response.content.decode()


def test_admin_sees_the_dashboard(admin_user):
    assert browser_for(admin_user).get(URL).status_code == 200


def test_agent_cannot_reach_the_admin(agent):
    response = browser_for(agent).get(URL)

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_staff_without_the_permission_gets_403(supervisor):
    # A supervisor outside the Supervisors group has no reports permission.
    assert browser_for(supervisor).get(URL).status_code == 403
    assert URL not in browser_for(supervisor).get("/admin/").content.decode()


def test_dashboard_counts_open_tickets_breached_and_at_risk(supervisor_browser):
    now = timezone.now()
    vip, normal = ClientFactory(type=ClientType.VIP), ClientFactory(type=ClientType.NORMAL)
    TicketFactory(client=vip)  # fresh: neither at risk nor breached
    TicketFactory(client=vip, created_at=now - timedelta(minutes=110))  # 92 % of 2 h: at risk
    TicketFactory(client=vip, created_at=now - timedelta(hours=3), status=TicketStatus.ESCALATED)  # breached
    TicketFactory(client=normal, status=TicketStatus.IN_PROGRESS)
    TicketFactory(client=normal, status=TicketStatus.RESOLVED)  # clock stopped: not open
    TicketFactory(client=normal, deleted_at=now)  # deleted: not counted

    response = supervisor_browser.get(URL)

    summary = response.context["summary"]
    assert (summary["open"], summary["breached"], summary["at_risk"]) == (4, 1, 1)
    assert summary["rows"] == [
        {"clientType": "NORMAL", "status": "IN_PROGRESS", "tickets": 1, "breached": 0, "atRisk": 0},
        {"clientType": "VIP", "status": "ESCALATED", "tickets": 1, "breached": 1, "atRisk": 0},
        {"clientType": "VIP", "status": "OPEN", "tickets": 2, "breached": 0, "atRisk": 1},
    ]


def test_dashboard_charts_follow_the_filters(supervisor_browser):
    named = UserFactory(email="fast@example.com", name="Fast Agent")
    insert_logs(
        log_doc("2024-03-01 10:00", client_type="VIP", minutes=30, agent=7, escalation=1, status="RESOLVED"),
        log_doc("2024-03-02 10:00", client_type="NORMAL", minutes=90, agent=8),
        log_doc("2023-01-01 10:00", client_type="NORMAL", minutes=10, agent=8),
    )
    from techsupport.mongo import get_db

    get_db()["ticket_logs"].update_one({"agentId": agent_id(7)}, {"$set": {"agentId": str(named.pk)}})

    response = supervisor_browser.get(URL, {"from": "2024-01-01", "to": "2024-12-31", "clientType": "VIP"})

    body = response.content.decode()
    titles = [chart.title for chart in response.context["charts"]]
    assert len(titles) == 5
    assert body.count('<svg class="rd-chart') == 5
    assert "Fast Agent" in body and "30 min" in body and "Mar 2024" in body and "100.0 % of 1" in body
    assert "NORMAL" not in [bar.label for chart in response.context["charts"] for bar in chart.bars]


def test_dashboard_reports_bad_filters_instead_of_failing(supervisor_browser):
    response = supervisor_browser.get(URL, {"from": "2024-02-01", "to": "2024-01-01", "clientType": "GOLD"})

    assert response.status_code == 200
    assert response.context["errors"] == {"from": "Must not be after 'to'.", "clientType": "Unknown client type."}


def test_dashboard_query_count_is_bounded(supervisor_browser, django_assert_max_num_queries):
    for _ in range(20):
        TicketFactory()
    # session + user + permissions, policies (2 tiers x2), summary, agent load, SLA targets, agent names, import
    # jobs (+ errors)
    with django_assert_max_num_queries(15):
        assert supervisor_browser.get(URL).status_code == 200


def test_dashboard_runs_each_report_pipeline_once(supervisor_browser, monkeypatch):
    from reports import selectors

    pipelines_run = []
    aggregate = selectors._aggregate

    def counting(pipeline):
        pipelines_run.append(pipeline)
        return aggregate(pipeline)

    monkeypatch.setattr(selectors, "_aggregate", counting)

    assert supervisor_browser.get(URL).status_code == 200
    assert len(pipelines_run) == 5  # avg-resolution, escalated, top-agents, weekly-status, sla-compliance


def test_the_month_axis_shows_the_gap_and_the_weekly_chart_is_bounded(supervisor_browser):
    # Escalations in Dec 2025 and Dec 2026 only: the chart draws the eleven empty months between.
    insert_logs(
        log_doc("2025-12-10 10:00", escalation=1),
        log_doc("2026-12-01 10:00", escalation=2),
    )

    charts = {chart.title: chart for chart in supervisor_browser.get(URL).context["charts"]}

    months = charts["Escalated tickets per month"]
    assert [bar.label for bar in months.bars][:3] == ["Dec 2025", "Jan 2026", "Feb 2026"]
    assert len(months.bars) == 13 and months.bars[-1].label == "Dec 2026"
    assert [bar.display for bar in months.bars] == ["1"] + ["0"] * 11 + ["1"]
    weeks = charts["Tickets per ISO week (Monday) and status"]
    assert len(weeks.columns) == 52  # every week between, the empty ones included, as compact columns
    assert [text for _, text in weeks.ticks][:2] == ["Dec 2025", "Jan 2026"]
    assert weeks.note == ""
