"""Aggregation pipelines over `ticket_logs`, as pure functions of the filters.

Each builder returns a list of stages; `reports/selectors.py` runs it and shapes the rows to the
contract. Rules every builder keeps:

- The first stage is a `$match` holding the filters (`createdAt` range, `clientType`) plus the
  builder's own predicates, all on indexed fields (see reports/indexes.py), so MongoDB starts
  from an index range scan instead of a collection scan.
- Operators as MongoDB 7 documents them (the GitHub workflow runs every pipeline against
  `mongo:7`; locally they run on the local document server): `$dateTrunc` folds creation instants
  into ISO weeks (Monday, UTC) in the database.
- Comparisons with a possibly-null field are guarded in `$match` first (`$ne: None`), or sit in
  the non-null branch of a `$cond`, so no stage depends on how nulls order against values.
"""

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class ReportFilters:
    """Inclusive bounds on the log's `createdAt` (aware UTC) and an optional client tier."""

    start: datetime | None = None
    end: datetime | None = None
    client_type: str | None = None


def match_stage(filters: ReportFilters, **predicates) -> dict:
    """The leading `$match`: tier, then the creation range (the order of the compound index
    `clientType_createdAt`), then the builder's own predicates (which may replace the tier
    condition, as sla-compliance does)."""
    query: dict = {}
    if filters.client_type:
        query["clientType"] = filters.client_type
    created: dict = {}
    if filters.start is not None:
        created["$gte"] = filters.start
    if filters.end is not None:
        created["$lte"] = filters.end
    if created:
        query["createdAt"] = created
    query.update(predicates)
    return {"$match": query}


_RESOLVED = {"resolutionMinutes": {"$ne": None}}


def avg_resolution_pipeline(filters: ReportFilters) -> list[dict]:
    """Per client type: average resolution minutes and count, over logs that have one.
    Rows `{_id: clientType, avg, tickets}`, sorted by client type."""
    return [
        match_stage(filters, **_RESOLVED),
        {"$group": {"_id": "$clientType", "avg": {"$avg": "$resolutionMinutes"}, "tickets": {"$sum": 1}}},
        {"$sort": {"_id": 1}},
    ]


def escalated_per_month_pipeline(filters: ReportFilters) -> list[dict]:
    """Logs with escalationLevel > 0 per UTC creation month (`$year`/`$month` on a UTC date).
    Rows `{_id: {year, month}, escalated}`, chronological."""
    return [
        match_stage(filters, escalationLevel={"$gt": 0}),
        {
            "$group": {
                "_id": {"year": {"$year": "$createdAt"}, "month": {"$month": "$createdAt"}},
                "escalated": {"$sum": 1},
            }
        },
        {"$sort": {"_id.year": 1, "_id.month": 1}},
    ]


def top_agents_pipeline(filters: ReportFilters, *, limit: int) -> list[dict]:
    """Agents by average resolution minutes, fastest first, ties by agent id; only logs with an
    agent and a resolution time. Sorted on the unrounded average. Rows `{_id: agentId, avg,
    tickets}`."""
    return [
        match_stage(filters, agentId={"$ne": None}, **_RESOLVED),
        {"$group": {"_id": "$agentId", "avg": {"$avg": "$resolutionMinutes"}, "tickets": {"$sum": 1}}},
        {"$sort": {"avg": 1, "_id": 1}},
        {"$limit": limit},
    ]


def weekly_status_pipeline(filters: ReportFilters) -> list[dict]:
    """Counts per ISO week of creation (the Monday 00:00 UTC that starts it) and status.
    Rows `{_id: {week: datetime, status}, tickets}`, chronological then by status."""
    week = {"$dateTrunc": {"date": "$createdAt", "unit": "week", "startOfWeek": "monday", "timezone": "UTC"}}
    return [
        match_stage(filters),
        {"$group": {"_id": {"week": week, "status": "$status"}, "tickets": {"$sum": 1}}},
        {"$sort": {"_id.week": 1, "_id.status": 1}},
    ]


def sla_compliance_pipeline(filters: ReportFilters, *, target_minutes: dict[str, float], now: datetime) -> list[dict]:
    """Per client type, over logs with a resolution time. A log with `slaDueAt` (live tickets:
    the due instant their SLA clock was given, in business hours when the policy has a calendar)
    is within SLA when `resolvedAt <= slaDueAt`, its overrun the minutes past it; a log without
    (imported rows) is judged against the tier's target: within SLA when `resolutionMinutes <=
    target`, overrun `resolutionMinutes - target`. Overruns are averaged over the late logs only
    (`$avg` skips the nulls; null when none overran). Tiers without a target are left out (the
    `$in` on clientType).

    First response, over the same logs: a log with `firstResponseDueAt` is judged once its
    first response is decided — answered (`firstRespondedAt`; within target when `<=` the due
    instant, else late by the minutes past it) or unanswered with the due instant before `now`
    (missed; no response instant, so no overrun). A log without the due instant (imported rows,
    tickets created before the target existed) or unanswered and not yet due is not counted.
    Rows `{_id: clientType, tickets, withinSla, avgOverrun, firstResponseTickets,
    firstResponseWithinTarget, firstResponseAvgOverrun}`, sorted by client type."""
    tiers = sorted(target_minutes)
    if filters.client_type:
        tiers = [tier for tier in tiers if tier == filters.client_type]
    target = {
        "$switch": {
            "branches": [{"case": {"$eq": ["$clientType", tier]}, "then": target_minutes[tier]} for tier in tiers],
            "default": None,
        }
    }
    has_due = {"$ne": ["$_due", None]}
    # "met", "late", "missed", or null (no target, or unanswered and not due yet). Every
    # comparison of the two instants sits behind a `$ne: null` test: none depends on null order.
    first_response_state = {
        "$cond": [
            {"$eq": ["$_frDue", None]},
            None,
            {
                "$cond": [
                    {"$ne": ["$_frAt", None]},
                    {"$cond": [{"$lte": ["$_frAt", "$_frDue"]}, "met", "late"]},
                    {"$cond": [{"$lt": ["$_frDue", now]}, "missed", None]},
                ]
            },
        ]
    }
    return [
        # The tier list replaces the single-tier filter (already narrowed to it above).
        match_stage(filters, clientType={"$in": tiers}, **_RESOLVED),
        # `$ifNull` turns a missing field (older and imported logs) into null.
        {
            "$addFields": {
                "_target": target,
                "_due": {"$ifNull": ["$slaDueAt", None]},
                "_frDue": {"$ifNull": ["$firstResponseDueAt", None]},
                "_frAt": {"$ifNull": ["$firstRespondedAt", None]},
            }
        },
        {
            "$addFields": {
                "_overrun": {
                    "$cond": [
                        has_due,
                        {"$divide": [{"$subtract": ["$resolvedAt", "$_due"]}, 60_000]},
                        {"$subtract": ["$resolutionMinutes", "$_target"]},
                    ]
                },
                "_frState": first_response_state,
            }
        },
        {
            "$group": {
                "_id": "$clientType",
                "tickets": {"$sum": 1},
                "withinSla": {"$sum": {"$cond": [{"$gt": ["$_overrun", 0]}, 0, 1]}},
                "avgOverrun": {"$avg": {"$cond": [{"$gt": ["$_overrun", 0]}, "$_overrun", None]}},
                "firstResponseTickets": {"$sum": {"$cond": [{"$eq": ["$_frState", None]}, 0, 1]}},
                "firstResponseWithinTarget": {"$sum": {"$cond": [{"$eq": ["$_frState", "met"]}, 1, 0]}},
                "firstResponseAvgOverrun": {
                    "$avg": {
                        "$cond": [
                            {"$eq": ["$_frState", "late"]},
                            {"$divide": [{"$subtract": ["$_frAt", "$_frDue"]}, 60_000]},
                            None,
                        ]
                    }
                },
            }
        },
        {"$sort": {"_id": 1}},
    ]
