"""The builders are pure: no database needed. The filters always sit in the first `$match`."""

from datetime import UTC, datetime

import pytest

from reports import pipelines
from reports.pipelines import ReportFilters

START = datetime(2024, 1, 1, tzinfo=UTC)
END = datetime(2024, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
FILTERS = ReportFilters(start=START, end=END, client_type="VIP")

BUILDERS = {
    "avg-resolution": lambda f: pipelines.avg_resolution_pipeline(f),
    "escalated-per-month": lambda f: pipelines.escalated_per_month_pipeline(f),
    "top-agents": lambda f: pipelines.top_agents_pipeline(f, limit=5),
    "weekly-status": lambda f: pipelines.weekly_status_pipeline(f),
}


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_filters_are_in_the_leading_match(name):
    pipeline = BUILDERS[name](FILTERS)

    first = pipeline[0]["$match"]
    assert first["clientType"] == "VIP"
    assert first["createdAt"] == {"$gte": START, "$lte": END}
    assert all("$match" not in stage for stage in pipeline[1:])


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_no_filters_no_range(name):
    first = BUILDERS[name](ReportFilters())[0]["$match"]

    assert "createdAt" not in first and "clientType" not in first


def test_match_stage_with_one_bound_only():
    assert pipelines.match_stage(ReportFilters(end=END)) == {"$match": {"createdAt": {"$lte": END}}}


def test_avg_resolution_pipeline_is_exact():
    assert pipelines.avg_resolution_pipeline(ReportFilters(start=START)) == [
        {"$match": {"createdAt": {"$gte": START}, "resolutionMinutes": {"$ne": None}}},
        {"$group": {"_id": "$clientType", "avg": {"$avg": "$resolutionMinutes"}, "tickets": {"$sum": 1}}},
        {"$sort": {"_id": 1}},
    ]


def test_escalated_matches_positive_levels():
    assert pipelines.escalated_per_month_pipeline(ReportFilters())[0] == {"$match": {"escalationLevel": {"$gt": 0}}}


def test_top_agents_needs_agent_and_resolution_and_limits():
    pipeline = pipelines.top_agents_pipeline(ReportFilters(), limit=7)

    assert pipeline[0] == {"$match": {"agentId": {"$ne": None}, "resolutionMinutes": {"$ne": None}}}
    assert pipeline[-2:] == [{"$sort": {"avg": 1, "_id": 1}}, {"$limit": 7}]


def test_sla_compliance_match_holds_tiers_range_and_resolution():
    pipeline = pipelines.sla_compliance_pipeline(
        ReportFilters(start=START, end=END), target_minutes={"VIP": 120.0, "NORMAL": 1440.0}, now=END
    )

    assert pipeline[0] == {
        "$match": {
            "createdAt": {"$gte": START, "$lte": END},
            "clientType": {"$in": ["NORMAL", "VIP"]},
            "resolutionMinutes": {"$ne": None},
        }
    }
    assert pipeline[1]["$addFields"]["_target"]["$switch"]["branches"] == [
        {"case": {"$eq": ["$clientType", "NORMAL"]}, "then": 1440.0},
        {"case": {"$eq": ["$clientType", "VIP"]}, "then": 120.0},
    ]


def test_sla_compliance_with_a_tier_keeps_only_that_tier():
    pipeline = pipelines.sla_compliance_pipeline(FILTERS, target_minutes={"VIP": 120.0, "NORMAL": 1440.0}, now=END)

    assert pipeline[0]["$match"]["clientType"] == {"$in": ["VIP"]}


def test_weekly_status_groups_on_the_monday_of_the_iso_week_in_utc():
    assert pipelines.weekly_status_pipeline(ReportFilters())[1:] == [
        {
            "$group": {
                "_id": {
                    "week": {
                        "$dateTrunc": {"date": "$createdAt", "unit": "week", "startOfWeek": "monday", "timezone": "UTC"}
                    },
                    "status": "$status",
                },
                "tickets": {"$sum": 1},
            }
        },
        {"$sort": {"_id.week": 1, "_id.status": 1}},
    ]
