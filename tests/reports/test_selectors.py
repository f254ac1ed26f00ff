"""Each report against a hand-built set of logs, with exact numbers."""

import pytest

from reports import selectors
from reports.pipelines import ReportFilters
from techsupport.validation import parse_range
from tests.reports.factories import agent_id, at, insert_logs, log_doc
from tickets.models import SlaPolicy
from tickets.selectors import sla_target_minutes_by_tier


def filters(**params) -> ReportFilters:
    client_type = params.pop("clientType", None)
    start, end = parse_range(params)
    return ReportFilters(start=start, end=end, client_type=client_type)


# --- avg-resolution -------------------------------------------------------------------------
@pytest.fixture
def resolution_logs():
    insert_logs(
        log_doc("2024-01-10 00:00", client_type="VIP", minutes=60),
        log_doc("2024-03-05 23:59", client_type="VIP", minutes=90),
        log_doc("2024-02-01 12:00", client_type="VIP"),  # not resolved: left out
        log_doc("2024-01-15 10:00", client_type="NORMAL", minutes=100),
        log_doc("2024-02-15 10:00", client_type="NORMAL", minutes=200),
        log_doc("2024-04-01 10:00", client_type="NORMAL", minutes=301),
    )


def test_avg_resolution_per_client_type(resolution_logs):
    assert selectors.report_avg_resolution(filters=filters()) == [
        {"clientType": "NORMAL", "avgResolutionMinutes": 200.33, "tickets": 3},
        {"clientType": "VIP", "avgResolutionMinutes": 75.0, "tickets": 2},
    ]


def test_avg_resolution_range_is_inclusive_on_both_days(resolution_logs):
    rows = selectors.report_avg_resolution(filters=filters(**{"from": "2024-01-10", "to": "2024-03-05"}))

    assert rows == [
        {"clientType": "NORMAL", "avgResolutionMinutes": 150.0, "tickets": 2},
        {"clientType": "VIP", "avgResolutionMinutes": 75.0, "tickets": 2},
    ]


def test_avg_resolution_range_excludes_outside_instants(resolution_logs):
    rows = selectors.report_avg_resolution(
        filters=filters(**{"from": "2024-01-10T00:00:01Z", "to": "2024-03-05T23:58:59Z"})
    )

    assert rows == [{"clientType": "NORMAL", "avgResolutionMinutes": 150.0, "tickets": 2}]


def test_avg_resolution_by_client_type(resolution_logs):
    assert selectors.report_avg_resolution(filters=filters(clientType="VIP")) == [
        {"clientType": "VIP", "avgResolutionMinutes": 75.0, "tickets": 2}
    ]


def test_reports_are_empty_without_matching_logs(db, resolution_logs):
    empty = filters(**{"from": "2030-01-01"})

    for name in ("avg-resolution", "escalated-per-month", "top-agents", "weekly-status", "sla-compliance"):
        assert selectors.report_run(name, filters=empty) == []


def test_reports_are_empty_on_an_empty_collection(db):
    for name in ("avg-resolution", "escalated-per-month", "top-agents", "weekly-status", "sla-compliance"):
        assert selectors.report_run(name, filters=ReportFilters()) == []


# --- escalated-per-month -------------------------------------------------------------------
@pytest.fixture
def escalation_logs():
    insert_logs(
        log_doc("2023-12-15 10:00", client_type="VIP", escalation=1),
        log_doc("2024-01-31 23:59:59", escalation=1),
        log_doc("2024-02-01 00:00", escalation=2),
        log_doc("2024-02-10 10:00", escalation=0),
        log_doc("2024-02-20 10:00", client_type="VIP", escalation=3, minutes=30),
    )


def test_escalated_per_month_is_chronological_across_years(escalation_logs):
    assert selectors.report_escalated_per_month(filters=filters()) == [
        {"year": 2023, "month": 12, "escalated": 1},
        {"year": 2024, "month": 1, "escalated": 1},
        {"year": 2024, "month": 2, "escalated": 2},
    ]


def test_escalated_per_month_filters(escalation_logs):
    assert selectors.report_escalated_per_month(filters=filters(clientType="VIP")) == [
        {"year": 2023, "month": 12, "escalated": 1},
        {"year": 2024, "month": 2, "escalated": 1},
    ]
    assert selectors.report_escalated_per_month(filters=filters(**{"from": "2024-02-01", "to": "2024-02-01"})) == [
        {"year": 2024, "month": 2, "escalated": 1}
    ]


# --- top-agents ------------------------------------------------------------------------------
@pytest.fixture
def agent_logs():
    insert_logs(
        log_doc("2024-05-01 10:00", agent=3, minutes=10),
        log_doc("2024-05-02 10:00", agent=3, minutes=20),
        log_doc("2024-05-03 10:00", agent=1, minutes=15),
        log_doc("2024-05-04 10:00", agent=2, minutes=5),
        log_doc("2024-05-05 10:00", agent=4, minutes=100),
        log_doc("2024-05-06 10:00", agent=5),  # not resolved: left out
        log_doc("2024-05-07 10:00", minutes=1),  # no agent: left out
        log_doc("2024-05-08 10:00", agent=6, minutes=40),
        log_doc("2024-05-09 10:00", agent=7, minutes=50.555, client_type="VIP"),
    )


def test_top_agents_fastest_first_ties_by_agent_id_default_limit(agent_logs):
    assert selectors.report_top_agents(filters=filters()) == [
        {"agentId": agent_id(2), "avgResolutionMinutes": 5.0, "tickets": 1},
        {"agentId": agent_id(1), "avgResolutionMinutes": 15.0, "tickets": 1},
        {"agentId": agent_id(3), "avgResolutionMinutes": 15.0, "tickets": 2},
        {"agentId": agent_id(6), "avgResolutionMinutes": 40.0, "tickets": 1},
        {"agentId": agent_id(7), "avgResolutionMinutes": 50.55, "tickets": 1},
    ]


def test_top_agents_limit(agent_logs):
    assert [row["agentId"] for row in selectors.report_top_agents(filters=filters(), limit=2)] == [
        agent_id(2),
        agent_id(1),
    ]
    assert len(selectors.report_top_agents(filters=filters(), limit=100)) == 6


def test_top_agents_filters(agent_logs):
    assert selectors.report_top_agents(filters=filters(clientType="VIP")) == [
        {"agentId": agent_id(7), "avgResolutionMinutes": 50.55, "tickets": 1}
    ]
    rows = selectors.report_top_agents(filters=filters(**{"from": "2024-05-02", "to": "2024-05-03"}))
    assert rows == [
        {"agentId": agent_id(1), "avgResolutionMinutes": 15.0, "tickets": 1},
        {"agentId": agent_id(3), "avgResolutionMinutes": 20.0, "tickets": 1},
    ]


# --- weekly-status ---------------------------------------------------------------------------
@pytest.fixture
def weekly_logs():
    insert_logs(
        log_doc("2024-12-29 23:59", status="OPEN"),  # Sunday: week of Mon 2024-12-23
        log_doc("2024-12-30 00:00", status="OPEN"),  # Monday of ISO week 1 of 2025
        log_doc("2024-12-31 10:00", status="ESCALATED", client_type="VIP"),
        log_doc("2025-01-01 10:00", status="OPEN"),
        log_doc("2025-01-05 23:59:59", status="RESOLVED", minutes=1),
        log_doc("2025-01-06 00:00", status="CLOSED", minutes=1),
    )


def test_weekly_status_groups_by_iso_week_then_status(weekly_logs):
    assert selectors.report_weekly_status(filters=filters()) == [
        {"weekStart": "2024-12-23", "status": "OPEN", "tickets": 1},
        {"weekStart": "2024-12-30", "status": "ESCALATED", "tickets": 1},
        {"weekStart": "2024-12-30", "status": "OPEN", "tickets": 2},
        {"weekStart": "2024-12-30", "status": "RESOLVED", "tickets": 1},
        {"weekStart": "2025-01-06", "status": "CLOSED", "tickets": 1},
    ]


def test_weekly_status_filters(weekly_logs):
    assert selectors.report_weekly_status(filters=filters(**{"from": "2024-12-30", "to": "2025-01-05"})) == [
        {"weekStart": "2024-12-30", "status": "ESCALATED", "tickets": 1},
        {"weekStart": "2024-12-30", "status": "OPEN", "tickets": 2},
        {"weekStart": "2024-12-30", "status": "RESOLVED", "tickets": 1},
    ]
    assert selectors.report_weekly_status(filters=filters(clientType="VIP")) == [
        {"weekStart": "2024-12-30", "status": "ESCALATED", "tickets": 1}
    ]


# --- sla-compliance --------------------------------------------------------------------------
# Imported rows have no first-response target: they never count in the first-response figures.
NO_FIRST_RESPONSE = {
    "firstResponseTickets": 0,
    "firstResponseWithinTarget": 0,
    "firstResponseComplianceRate": None,
    "firstResponseAvgOverrunMinutes": None,
}


@pytest.fixture
def sla_logs(db):
    insert_logs(
        log_doc("2024-06-01 10:00", client_type="VIP", minutes=120),  # exactly on target: within
        log_doc("2024-06-02 10:00", client_type="VIP", minutes=60),
        log_doc("2024-06-03 10:00", client_type="VIP", minutes=150),  # 30 over
        log_doc("2024-06-04 10:00", client_type="VIP", minutes=200),  # 80 over
        log_doc("2024-06-05 10:00", client_type="VIP"),  # not resolved: left out
        log_doc("2024-06-01 10:00", client_type="NORMAL", minutes=1440),
        log_doc("2024-06-02 10:00", client_type="NORMAL", minutes=1000),
        log_doc("2024-06-03 10:00", client_type="NORMAL", minutes=1500),  # 60 over
    )


def test_sla_target_minutes_from_the_policies(db):
    assert sla_target_minutes_by_tier() == {"NORMAL": 1440.0, "VIP": 120.0}


def test_sla_compliance_against_default_policies(sla_logs):
    assert selectors.report_sla_compliance(filters=filters()) == [
        {
            "clientType": "NORMAL",
            "tickets": 3,
            "withinSla": 2,
            "complianceRate": 0.6667,
            "avgOverrunMinutes": 60.0,
            **NO_FIRST_RESPONSE,
        },
        {
            "clientType": "VIP",
            "tickets": 4,
            "withinSla": 2,
            "complianceRate": 0.5,
            "avgOverrunMinutes": 55.0,
            **NO_FIRST_RESPONSE,
        },
    ]


def test_sla_compliance_follows_an_edited_policy(sla_logs):
    SlaPolicy.objects.filter(client_type="NORMAL").update(target_hours=48)

    assert selectors.report_sla_compliance(filters=filters(clientType="NORMAL")) == [
        {
            "clientType": "NORMAL",
            "tickets": 3,
            "withinSla": 3,
            "complianceRate": 1.0,
            "avgOverrunMinutes": None,
            **NO_FIRST_RESPONSE,
        }
    ]


def test_sla_compliance_filters_by_range(sla_logs):
    assert selectors.report_sla_compliance(filters=filters(**{"from": "2024-06-03", "to": "2024-06-03"})) == [
        {
            "clientType": "NORMAL",
            "tickets": 1,
            "withinSla": 0,
            "complianceRate": 0.0,
            "avgOverrunMinutes": 60.0,
            **NO_FIRST_RESPONSE,
        },
        {
            "clientType": "VIP",
            "tickets": 1,
            "withinSla": 0,
            "complianceRate": 0.0,
            "avgOverrunMinutes": 30.0,
            **NO_FIRST_RESPONSE,
        },
    ]


def test_sla_compliance_falls_back_to_the_default_target_without_policy(sla_logs):
    SlaPolicy.objects.filter(client_type="VIP").update(target_hours=10)
    assert selectors.report_sla_compliance(filters=filters(clientType="VIP"))[0]["withinSla"] == 4

    SlaPolicy.objects.filter(client_type="VIP").delete()

    assert selectors.report_sla_compliance(filters=filters(clientType="VIP")) == [
        {
            "clientType": "VIP",
            "tickets": 4,
            "withinSla": 2,
            "complianceRate": 0.5,
            "avgOverrunMinutes": 55.0,
            **NO_FIRST_RESPONSE,
        }
    ]


def test_sla_compliance_judges_a_live_log_by_its_business_hours_due_time(db):
    # Created Friday 16:00 with a 2-hour VIP target on a calendar open 09:00-17:00: due Monday
    # 10:00. Resolved Monday 09:30 (3,930 wall-clock minutes later) is within SLA; resolved
    # Monday 10:45 is 45 minutes late.
    insert_logs(
        log_doc("2024-06-07 16:00", client_type="VIP", minutes=3930, due="2024-06-10 10:00", source="live"),
        log_doc("2024-06-07 16:00", client_type="VIP", minutes=4005, due="2024-06-10 10:00", source="live"),
        log_doc("2024-06-07 16:00", client_type="VIP", minutes=100),  # imported: against the target
    )

    assert selectors.report_sla_compliance(filters=filters(clientType="VIP")) == [
        {
            "clientType": "VIP",
            "tickets": 3,
            "withinSla": 2,
            "complianceRate": 0.6667,
            "avgOverrunMinutes": 45.0,
            **NO_FIRST_RESPONSE,
        }
    ]


# Live VIP logs created 2024-06-10 10:00, first response due 10:15, resolved after 60 minutes
# (within the 120-minute resolution target, so the resolution figures are all "within").
NOW = at("2024-06-20 12:00")


def live_vip(*, first_response_due: str | None = "2024-06-10 10:15", **kwargs) -> dict:
    return log_doc(
        "2024-06-10 10:00",
        client_type="VIP",
        minutes=kwargs.pop("minutes", 60),
        due="2024-06-10 12:00",
        source="live",
        first_response_due=first_response_due,
        **kwargs,
    )


@pytest.fixture
def first_response_logs(db):
    older_live = live_vip()  # projected before the logs carried the first-response fields
    del older_live["firstResponseDueAt"], older_live["firstRespondedAt"]
    insert_logs(
        live_vip(first_responded="2024-06-10 10:05"),  # met
        live_vip(first_responded="2024-06-10 10:15"),  # exactly at the due time: met
        live_vip(first_responded="2024-06-10 10:45"),  # 30 minutes late
        live_vip(first_responded="2024-06-10 11:15"),  # 60 minutes late
        live_vip(),  # never answered, due long before NOW: missed, no overrun
        live_vip(first_response_due="2024-06-20 12:30"),  # unanswered, not due yet at NOW: not counted
        older_live,  # no first-response fields at all: not counted
        log_doc("2024-06-10 10:00", client_type="VIP", minutes=60),  # imported: not counted
        log_doc(  # not resolved: outside sla-compliance, as for the resolution figures
            "2024-06-10 10:00", client_type="VIP", source="live", first_response_due="2024-06-10 10:15"
        ),
        log_doc(
            "2024-06-10 10:00",
            client_type="NORMAL",
            minutes=60,
            due="2024-06-11 10:00",
            source="live",
            first_response_due="2024-06-10 14:00",
            first_responded="2024-06-10 13:00",
        ),
    )


def test_sla_compliance_counts_decided_first_responses_next_to_the_resolution_figures(first_response_logs):
    assert selectors.report_sla_compliance(filters=filters(), now=NOW) == [
        {
            "clientType": "NORMAL",
            "tickets": 1,
            "withinSla": 1,
            "complianceRate": 1.0,
            "avgOverrunMinutes": None,
            "firstResponseTickets": 1,
            "firstResponseWithinTarget": 1,
            "firstResponseComplianceRate": 1.0,
            "firstResponseAvgOverrunMinutes": None,
        },
        {
            "clientType": "VIP",
            "tickets": 8,
            "withinSla": 8,
            "complianceRate": 1.0,
            "avgOverrunMinutes": None,
            "firstResponseTickets": 5,
            "firstResponseWithinTarget": 2,
            "firstResponseComplianceRate": 0.4,
            "firstResponseAvgOverrunMinutes": 45.0,
        },
    ]


def test_an_unanswered_first_response_counts_as_missed_once_its_due_time_has_passed(first_response_logs):
    before = selectors.report_sla_compliance(filters=filters(clientType="VIP"), now=at("2024-06-20 12:30"))
    after = selectors.report_sla_compliance(filters=filters(clientType="VIP"), now=at("2024-06-20 12:30:01"))

    assert (before[0]["firstResponseTickets"], before[0]["firstResponseWithinTarget"]) == (5, 2)
    assert (after[0]["firstResponseTickets"], after[0]["firstResponseWithinTarget"]) == (6, 2)
    assert after[0]["firstResponseAvgOverrunMinutes"] == 45.0  # a missed answer has no overrun


def test_first_response_figures_keep_the_resolution_figures_of_the_same_logs(db):
    insert_logs(
        live_vip(minutes=150, first_responded="2024-06-10 10:05"),  # resolution 30 late, response met
        live_vip(minutes=60, first_responded="2024-06-10 10:35"),  # resolution met, response 20 late
    )

    assert selectors.report_sla_compliance(filters=filters(clientType="VIP"), now=NOW) == [
        {
            "clientType": "VIP",
            "tickets": 2,
            "withinSla": 1,
            "complianceRate": 0.5,
            "avgOverrunMinutes": 30.0,
            "firstResponseTickets": 2,
            "firstResponseWithinTarget": 1,
            "firstResponseComplianceRate": 0.5,
            "firstResponseAvgOverrunMinutes": 20.0,
        }
    ]


def test_log_timestamps_are_utc():
    assert at("2024-01-01 00:00").utcoffset().total_seconds() == 0
